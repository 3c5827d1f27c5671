/** The session machine counts push frames lost to full poll queues (protocol §3.6), purely. */
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import {
  sessionMachine,
  type SessionEvent,
  type SessionInput,
} from '../../src/machines/session.machine.js';

const input: SessionInput = {
  stream: 'session:peer:sid',
  sid: 'c2Vzc2lvbi1pZA',
  peerId: 'b'.repeat(64),
  role: 'responder',
  keyId: '0011223344556677',
  suite: 'x25519-aes256gcm',
  startedAt: 't0',
  idleTimeoutMs: 60_000,
  rekeyAfterMessages: 100,
  rekeyAfterMs: 600_000,
  rekeyTimeoutMs: 30_000,
};

const ACTIVE = { active: { keys: 'current', idle: 'watching' } };

describe('session machine: lost pushes', () => {
  it('starts with none dropped or missed', () => {
    const [snap] = initialTransition(sessionMachine, input);
    expect(snap.context).toMatchObject({ droppedPushes: 0, missedPushes: 0 });
  });

  it('adds up the reported counts, without changing state or re-arming the idle timer', () => {
    let [snap] = initialTransition(sessionMachine, input);
    const events: SessionEvent[] = [
      { type: 'push.dropped', count: 1, at: 't1' },
      { type: 'push.dropped', count: 43, at: 't2' },
      { type: 'push.missed', count: 5, at: 't3' },
    ];
    for (const e of events) {
      const [next, actions] = transition(sessionMachine, snap, e);
      expect(next.value).toEqual(ACTIVE);
      expect(actions.filter((a) => a.type === 'xstate.raise')).toEqual([]);
      snap = next;
    }
    expect(snap.context).toMatchObject({ droppedPushes: 44, missedPushes: 5 });
  });

  it('takes no count once closed', () => {
    let [snap] = initialTransition(sessionMachine, input);
    [snap] = transition(sessionMachine, snap, { type: 'session.close', reason: 'x', at: 't1' });
    [snap] = transition(sessionMachine, snap, { type: 'push.dropped', count: 3, at: 't2' });
    expect(snap.value).toBe('closed');
    expect(snap.context.droppedPushes).toBe(0);
  });
});
