import { describe, expect, it } from 'vitest';
import { createActor, initialTransition, transition } from 'xstate';
import { peerMachine, type PeerInput } from '../../src/machines/peer.machine.js';

const input: PeerInput = {
  stream: 'peer:abc',
  peerId: 'abc',
  name: 'alice',
  fingerprint: 'abc',
  identityKind: 'ed25519',
  store: 'memory',
  version: '0.1.0',
  maxPeers: 16,
};

describe('peer machine', () => {
  it('starts in starting with its identity in context', () => {
    const [s] = initialTransition(peerMachine, input);
    expect(s.value).toBe('starting');
    expect(s.context.peerId).toBe('abc');
    expect(s.context.startedAt).toBeNull();
  });

  it('moves to running when listening and records the URLs and time from the event', () => {
    const [s0] = initialTransition(peerMachine, input);
    const [s1] = transition(peerMachine, s0, {
      type: 'peer.listening',
      peerUrl: 'http://127.0.0.1:7400',
      apiUrl: 'http://127.0.0.1:7401',
      at: '2026-01-01T00:00:00.000Z',
    });
    expect(s1.value).toBe('running');
    expect(s1.context.apiUrl).toBe('http://127.0.0.1:7401');
    expect(s1.context.startedAt).toBe('2026-01-01T00:00:00.000Z');
  });

  it('stops through stopping to the final stopped state', () => {
    const [s0] = initialTransition(peerMachine, input);
    const [s1] = transition(peerMachine, s0, { type: 'peer.stop', reason: 'SIGTERM', at: 't1' });
    expect(s1.value).toBe('stopping');
    const [s2] = transition(peerMachine, s1, { type: 'peer.stopped', at: 't2' });
    expect(s2.value).toBe('stopped');
    expect(s2.status).toBe('done');
    expect(s2.context.stopReason).toBe('SIGTERM');
  });

  it('ignores peer.stopped while running (no transition)', () => {
    const [s0] = initialTransition(peerMachine, input);
    const [s1] = transition(peerMachine, s0, { type: 'peer.stopped', at: 't' });
    expect(s1.value).toBe('starting');
  });

  it('answers info.query with an emitted reply and no state change', () => {
    const [s0] = initialTransition(peerMachine, input);
    const [s1, actions] = transition(peerMachine, s0, { type: 'info.query', requestId: 'r1' });
    expect(s1.value).toBe('starting');
    expect(actions.map((a) => a.type)).toContain('xstate.emit');
  });

  it('emits the reply to listeners of a live actor, matched by request id', () => {
    const actor = createActor(peerMachine, { input }).start();
    const replies: unknown[] = [];
    actor.on('reply', (e) => replies.push(e));
    actor.send({ type: 'info.query', requestId: 'r2' });
    expect(replies).toEqual([
      expect.objectContaining({
        requestId: 'r2',
        result: expect.objectContaining({ peerId: 'abc', state: 'starting' }),
      }),
    ]);
    actor.stop();
  });
});
