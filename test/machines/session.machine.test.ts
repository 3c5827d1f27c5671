import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor, initialTransition, transition, type SnapshotFrom } from 'xstate';
import {
  sessionMachine,
  type SessionEvent,
  type SessionInput,
} from '../../src/machines/session.machine.js';

type Snap = SnapshotFrom<typeof sessionMachine>;

const input = (overrides: Partial<SessionInput> = {}): SessionInput => ({
  stream: 'session:peer:sid',
  sid: 'c2Vzc2lvbi1pZA',
  peerId: 'b'.repeat(64),
  role: 'requester',
  keyId: '0011223344556677',
  suite: 'x25519-aes256gcm',
  startedAt: 't0',
  idleTimeoutMs: 60_000,
  rekeyAfterMessages: 100,
  rekeyAfterMs: 600_000,
  rekeyTimeoutMs: 30_000,
  ...overrides,
});

const start = (overrides: Partial<SessionInput> = {}) =>
  initialTransition(sessionMachine, input(overrides))[0];

type Actions = ReturnType<typeof transition<typeof sessionMachine>>[1];

/** Apply events in order; return the final snapshot and the actions of the last one. */
function run(snap: Snap, ...events: SessionEvent[]): { snap: Snap; actions: Actions } {
  let actions: Actions = [];
  for (const e of events) [snap, actions] = transition(sessionMachine, snap, e);
  return { snap, actions };
}

const AFTER = {
  idle: { type: 'xstate.after.idleTimeout.session.active.idle.watching' },
  rekeyInterval: { type: 'xstate.after.rekeyInterval.session.active.keys.current' },
  rekeyTimeout: { type: 'xstate.after.rekeyTimeout.session.active.keys.rekeying' },
} as unknown as Record<string, SessionEvent>;

const activity = (epochMessages: number, epoch = 0, at = 't1'): SessionEvent => ({
  type: 'activity',
  epoch,
  epochMessages,
  requestCount: epochMessages,
  at,
});
const started = (epoch = 1, initiator: 'self' | 'peer' = 'self'): SessionEvent => ({
  type: 'rekey.started',
  epoch,
  initiator,
  at: 't2',
});
const completed = (epoch = 1): SessionEvent => ({
  type: 'rekey.completed',
  epoch,
  keyId: 'aabbccddeeff0011',
  at: 't3',
});

const delayedRaises = (actions: Actions) =>
  actions
    .filter((a) => a.type === 'xstate.raise')
    .map((a) => (a.params as { delay?: number; id?: string }).delay);

describe('session machine', () => {
  it('starts active on epoch 0 with idle and re-key timers armed', () => {
    const [snap, actions] = initialTransition(sessionMachine, input());
    expect(snap.value).toEqual({ active: { keys: 'current', idle: 'watching' } });
    expect(snap.context).toMatchObject({
      epoch: 0,
      keyId: '0011223344556677',
      linkState: 'down',
      lastActivityAt: 't0',
      failures: { 'decrypt-failed': 0, replayed: 0, 'unknown-epoch': 0 },
    });
    expect(delayedRaises(actions).sort()).toEqual([60_000, 600_000]);
  });

  it('doubles the re-key interval for the responder (the requester re-keys first)', () => {
    const [, actions] = initialTransition(sessionMachine, input({ role: 'responder' }));
    expect(delayedRaises(actions)).toContain(1_200_000);
  });

  it('records activity and re-arms the idle timer without changing the keys state', () => {
    const { snap, actions } = run(start(), activity(10));
    expect(snap.value).toEqual({ active: { keys: 'current', idle: 'watching' } });
    expect(snap.context).toMatchObject({
      epochMessages: 10,
      requestCount: 10,
      lastActivityAt: 't1',
    });
    expect(actions.map((a) => a.type)).toEqual(['xstate.cancel', 'xstate.raise']);
  });

  it('makes a re-key due when the epoch count reaches the threshold', () => {
    expect(run(start(), activity(99)).snap.value).toMatchObject({ active: { keys: 'current' } });
    expect(run(start(), activity(100)).snap.value).toMatchObject({ active: { keys: 'rekeyDue' } });
    expect(run(start(), activity(500, 3)).snap.value).toMatchObject({
      active: { keys: 'current' },
    });
    const responder = start({ role: 'responder' });
    expect(run(responder, activity(100)).snap.value).toMatchObject({ active: { keys: 'current' } });
    expect(run(responder, activity(200)).snap.value).toMatchObject({
      active: { keys: 'rekeyDue' },
    });
  });

  it('makes a re-key due when the epoch gets old', () => {
    expect(run(start(), AFTER.rekeyInterval!).snap.value).toMatchObject({
      active: { keys: 'rekeyDue' },
    });
  });

  it('moves through rekeying to the next epoch', () => {
    let { snap } = run(start(), activity(100), started());
    expect(snap.value).toMatchObject({ active: { keys: 'rekeying' } });
    expect(snap.context.rekeyEpoch).toBe(1);
    ({ snap } = run(snap, completed()));
    expect(snap.value).toMatchObject({ active: { keys: 'current' } });
    expect(snap.context).toMatchObject({
      epoch: 1,
      keyId: 'aabbccddeeff0011',
      epochMessages: 0,
      rekeyEpoch: null,
      graceEpoch: 0,
    });
  });

  it('accepts a peer-initiated re-key straight from current', () => {
    const { snap } = run(start(), started(1, 'peer'), completed());
    expect(snap.context.epoch).toBe(1);
  });

  it('ignores re-key events for any epoch but the next', () => {
    const s = start();
    for (const e of [started(2), completed(0), completed(5)]) {
      const [next, actions] = transition(sessionMachine, s, e);
      expect(next.context).toBe(s.context);
      expect(actions).toEqual([]);
    }
  });

  it('falls back to rekeyDue when a re-key is abandoned or times out', () => {
    const rekeying = run(start(), started()).snap;
    const abandoned: SessionEvent = {
      type: 'rekey.abandoned',
      epoch: 1,
      reason: 'conflict',
      at: 't',
    };
    const a = run(rekeying, abandoned).snap;
    expect(a.value).toMatchObject({ active: { keys: 'rekeyDue' } });
    expect(a.context.rekeyEpoch).toBeNull();
    expect(run(rekeying, AFTER.rekeyTimeout!).snap.value).toMatchObject({
      active: { keys: 'rekeyDue' },
    });
    // A retry re-enters rekeying, re-arming its timeout.
    const retry = run(rekeying, started());
    expect(retry.snap.value).toMatchObject({ active: { keys: 'rekeying' } });
    expect(retry.actions.map((x) => x.type)).toContain('xstate.cancel');
  });

  it('forgets the grace epoch once it is retired, and only that epoch', () => {
    const after = run(start(), started(), completed()).snap;
    const [same, none] = transition(sessionMachine, after, {
      type: 'epoch.retired',
      epoch: 7,
      at: 't',
    });
    expect(none).toEqual([]);
    expect(same.context.graceEpoch).toBe(0);
    expect(run(after, { type: 'epoch.retired', epoch: 0, at: 't' }).snap.context.graceEpoch).toBe(
      null,
    );
  });

  it('counts decryption failures by reason', () => {
    const { snap } = run(
      start(),
      { type: 'decrypt.failed', reason: 'replayed', epoch: 0, seq: 4, count: 1, at: 't' },
      { type: 'decrypt.failed', reason: 'replayed', epoch: 0, seq: 9, count: 5, at: 't' },
      { type: 'decrypt.failed', reason: 'unknown-epoch', epoch: 3, seq: 0, count: 1, at: 't' },
    );
    expect(snap.context.failures).toEqual({ 'decrypt-failed': 0, replayed: 6, 'unknown-epoch': 1 });
  });

  it('tracks the link, accepting only real changes', () => {
    const up = run(start(), { type: 'link.up', at: 't' }).snap;
    expect(up.context.linkState).toBe('up');
    const [again, actions] = transition(sessionMachine, up, { type: 'link.up', at: 't' });
    expect(again.context).toBe(up.context);
    expect(actions).toEqual([]);
    expect(run(up, { type: 'link.down', at: 't' }).snap.context.linkState).toBe('down');
  });

  it('expires when idle and then ignores everything', () => {
    const expired = run(start(), AFTER.idle!).snap;
    expect(expired.value).toBe('expired');
    expect(expired.status).toBe('done');
    const [after, actions] = transition(sessionMachine, expired, activity(1));
    expect(after.value).toBe('expired');
    expect(actions).toEqual([]);
  });

  it('closes from any active state with its reason', () => {
    const rekeying = run(start(), started()).snap;
    const closed = run(rekeying, { type: 'session.close', reason: 'peer-gone', at: 't9' }).snap;
    expect(closed.value).toBe('closed');
    expect(closed.status).toBe('done');
    expect(closed.context).toMatchObject({ closeReason: 'peer-gone', closedAt: 't9' });
  });
});

describe('session machine as an actor (fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires after the idle timeout, unless activity re-arms it', () => {
    vi.useFakeTimers();
    const actor = createActor(sessionMachine, { input: input() }).start();
    vi.advanceTimersByTime(50_000);
    actor.send(activity(1));
    vi.advanceTimersByTime(50_000);
    expect(actor.getSnapshot().value).toMatchObject({ active: { idle: 'watching' } });
    vi.advanceTimersByTime(10_001);
    expect(actor.getSnapshot().value).toBe('expired');
    expect(actor.getSnapshot().status).toBe('done');
  });

  it('becomes rekeyDue after the re-key interval even without traffic', () => {
    vi.useFakeTimers();
    const actor = createActor(sessionMachine, {
      input: input({ idleTimeoutMs: 10 * 600_000 }),
    }).start();
    vi.advanceTimersByTime(600_001);
    expect(actor.getSnapshot().value).toMatchObject({ active: { keys: 'rekeyDue' } });
    actor.stop();
  });
});
