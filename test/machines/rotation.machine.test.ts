/**
 * The key rotation machine through the pure `transition()` / `initialTransition()` API: start,
 * acks in any order, duplicates and strangers ignored, retries counted only for pending members,
 * the deadline committing with laggards, removals mid-rotation, late laggard acks, retirement,
 * restore into every state, and a property over arbitrary interleavings.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import {
  rotationMachine,
  type RotationContext,
  type RotationEvent,
  type RotationStart,
  type RotationStateName,
} from '../../src/machines/rotation.machine.js';

type Snap = SnapshotFrom<typeof rotationMachine>;

const ROOM = 'room_0123456789abcdef';
const EPOCH = 4;
const STREAM = `rotation:${ROOM}:${EPOCH}`;
const T0 = '2030-01-01T00:00:00.000Z';
const T1 = '2030-01-01T00:00:01.000Z';
const T2 = '2030-01-01T00:00:02.000Z';
const DEADLINE = '2030-01-01T00:00:30.000Z';
const peer = (i: number): string => i.toString(16).padStart(64, '0');
const [B, C, D, E] = [1, 2, 3, 4].map(peer) as [string, string, string, string];
const STRANGER = peer(0xdead);

const startInput: RotationStart = {
  stream: STREAM,
  roomId: ROOM,
  epoch: EPOCH,
  reason: 'manual',
  mandatory: false,
  proposedAt: T0,
};

const fresh = (): Snap => initialTransition(rotationMachine, startInput)[0];
const send = (s: Snap, ev: RotationEvent): Snap => transition(rotationMachine, s, ev)[0];
const run = (s: Snap, events: readonly RotationEvent[]): Snap => events.reduce(send, s);

const start = (members: string[], at = T0): RotationEvent => ({
  type: 'rotation.start',
  members,
  deadline: DEADLINE,
  at,
});
const ack = (peerId: string, at = T1) => ({ type: 'rotation.ack' as const, peerId, at });
const retry = (peerId: string, attempt: number) => ({
  type: 'rotation.retry' as const,
  peerId,
  attempt,
  at: T1,
});
const removed = (peerId: string) => ({
  type: 'rotation.member-removed' as const,
  peerId,
  at: T1,
});
const deadline = (at = T2) => ({ type: 'rotation.deadline' as const, at });
const retire = (): RotationEvent => ({ type: 'rotation.retire', at: T2 });

const distributing = (members = [B, C, D]): Snap => send(fresh(), start(members));

/** Not accepted: same state, same context object, no actions. */
function expectIgnored(s: Snap, ev: RotationEvent): void {
  const [next, actions] = transition(rotationMachine, s, ev);
  expect(next.value).toEqual(s.value);
  expect(next.context).toBe(s.context);
  expect(actions).toEqual([]);
}

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

describe('rotation machine: the happy path', () => {
  it('boots into proposed with nothing collected', () => {
    const s = fresh();
    expect(s.value).toBe('proposed');
    expect(s.context).toMatchObject({
      roomId: ROOM,
      epoch: EPOCH,
      pending: [],
      acked: [],
      laggards: [],
      attempts: {},
      deadline: null,
      startedAt: null,
      committedAt: null,
      restoredState: null,
    });
  });

  it('start with members → distributing, every member pending (deduplicated, sorted)', () => {
    const s = send(fresh(), start([D, B, C, B]));
    expect(s.value).toBe('distributing');
    expect(s.context.pending).toEqual([B, C, D]);
    expect(s.context).toMatchObject({ deadline: DEADLINE, startedAt: T0, committedAt: null });
  });

  it.each([
    ['already sorted', [B, C, D], [B, C, D]],
    ['sorted with a repeat', [B, C, C, D], [B, C, D]],
    ['sorted but for the last', [B, D, C], [B, C, D]],
    ['one member', [C], [C]],
  ])('start lists members sorted and once whatever comes in: %s', (_label, members, pending) => {
    const s = send(fresh(), start(members));
    expect(s.context.pending).toEqual(pending);
    // The event's own list is never the context's (the caller may reuse it).
    expect(s.context.pending).not.toBe(members);
  });

  it.each([
    ['B C D', [B, C, D]],
    ['D B C', [D, B, C]],
    ['C D B', [C, D, B]],
  ])('acks in order %s commit only when the last one arrives', (_label, order) => {
    let s = distributing();
    for (const [i, p] of order.entries()) {
      s = send(s, ack(p, `2030-01-01T00:00:0${i + 1}.000Z`));
      expect(s.value).toBe(i === order.length - 1 ? 'committed' : 'distributing');
    }
    expect(s.context.acked).toEqual(order);
    expect(s.context.pending).toEqual([]);
    expect(s.context.laggards).toEqual([]);
    expect(s.context.committedAt).toBe('2030-01-01T00:00:03.000Z');
  });

  it('start with no members → committed at once, nobody lagging', () => {
    const s = send(fresh(), start([]));
    expect(s.value).toBe('committed');
    expect(s.context).toMatchObject({ pending: [], acked: [], laggards: [], committedAt: T0 });
  });

  it('retire moves a committed rotation to retired, a final state', () => {
    const s = send(send(fresh(), start([])), retire());
    expect(s.value).toBe('retired');
    expect(s.status).toBe('done');
    expectIgnored(s, ack(B));
  });

  it('retire is not taken before the commit', () => {
    expectIgnored(fresh(), retire());
    expectIgnored(distributing(), retire());
  });
});

describe('rotation machine: what it ignores', () => {
  it('a duplicate ack is ignored', () => {
    const s = send(distributing(), ack(B));
    expectIgnored(s, ack(B));
    expect(s.context.acked).toEqual([B]);
  });

  it('an ack from a stranger is ignored', () => {
    expectIgnored(distributing(), ack(STRANGER));
  });

  it('acks, retries, removals and the deadline are not taken in proposed', () => {
    const s = fresh();
    for (const ev of [ack(B), retry(B, 1), removed(B), deadline()]) expectIgnored(s, ev);
  });

  it('a second start is not taken', () => {
    expectIgnored(distributing(), start([B, C, D, E]));
  });
});

describe('rotation machine: retries', () => {
  it('counts attempts for pending members only', () => {
    let s = send(distributing(), ack(B));
    s = send(s, retry(C, 1));
    s = send(s, retry(C, 2));
    expect(s.context.attempts).toEqual({ [C]: 2 });
    // B already acked, the stranger was never a member: no attempts counted
    expectIgnored(s, retry(B, 1));
    expectIgnored(s, retry(STRANGER, 1));
    s = send(s, retry(D, 1));
    expect(s.context.attempts).toEqual({ [C]: 2, [D]: 1 });
    expect(s.value).toBe('distributing');
  });

  it('a retry after the commit changes nothing', () => {
    const s = send(distributing([B]), ack(B));
    expect(s.value).toBe('committed');
    expectIgnored(s, retry(B, 3));
  });
});

describe('rotation machine: deadline and laggards', () => {
  it('the deadline commits with the members still missing listed as laggards', () => {
    const s = run(distributing(), [ack(C), deadline()]);
    expect(s.value).toBe('committed');
    expect(s.context.acked).toEqual([C]);
    expect(s.context.laggards).toEqual([B, D]);
    expect(s.context.committedAt).toBe(T2);
  });

  it('a laggard’s late ack after the commit moves it from laggards to acked', () => {
    let s = run(distributing(), [ack(C), deadline()]);
    s = send(s, ack(D, '2030-01-01T00:05:00.000Z'));
    expect(s.value).toBe('committed');
    expect(s.context.laggards).toEqual([B]);
    expect(s.context.acked).toEqual([C, D]);
    // again: now a duplicate; and a member who already acked, or a stranger: ignored
    expectIgnored(s, ack(D));
    expectIgnored(s, ack(C));
    expectIgnored(s, ack(STRANGER));
  });

  it('a deadline after the commit changes nothing', () => {
    const s = run(distributing([B]), [ack(B)]);
    expectIgnored(s, deadline());
  });
});

describe('rotation machine: members removed mid-rotation', () => {
  it('a removed member stops being waited for', () => {
    let s = send(distributing(), removed(C));
    expect(s.value).toBe('distributing');
    expect(s.context.pending).toEqual([B, D]);
    s = run(s, [ack(B), ack(D)]);
    expect(s.value).toBe('committed');
    expect(s.context.acked).toEqual([B, D]);
    expect(s.context.laggards).toEqual([]);
  });

  it('removing the last pending member commits', () => {
    const s = run(distributing(), [ack(B), ack(D), removed(C)]);
    expect(s.value).toBe('committed');
    expect(s.context).toMatchObject({ acked: [B, D], laggards: [], committedAt: T1 });
  });

  it('a removed member is not listed as a laggard at the deadline', () => {
    const s = run(distributing(), [removed(B), deadline()]);
    expect(sorted(s.context.laggards)).toEqual([C, D]);
  });

  it('removing a member who already acked, or a stranger, is ignored', () => {
    const s = send(distributing(), ack(B));
    expectIgnored(s, removed(B));
    expectIgnored(s, removed(STRANGER));
  });
});

describe('rotation machine: restore', () => {
  const restoreAt = (state: RotationStateName, over: Partial<RotationContext> = {}): Snap =>
    initialTransition(rotationMachine, {
      stream: STREAM,
      restore: {
        ...startInput,
        pending: [C, D],
        acked: [B],
        laggards: [],
        attempts: { [C]: 2 },
        deadline: DEADLINE,
        startedAt: T0,
        committedAt: null,
        restoredState: null,
        ...over,
        state,
      },
    })[0];

  it('lands in proposed', () => {
    const s = restoreAt('proposed', { pending: [], acked: [], attempts: {}, startedAt: null });
    expect(s.value).toBe('proposed');
    expect(send(s, start([B])).value).toBe('distributing');
  });

  it('lands in distributing with what it had collected, and goes on from there', () => {
    let s = restoreAt('distributing');
    expect(s.value).toBe('distributing');
    expect(s.context).toMatchObject({
      pending: [C, D],
      acked: [B],
      attempts: { [C]: 2 },
      restoredState: 'distributing',
      stream: STREAM,
    });
    expectIgnored(s, ack(B));
    s = run(s, [retry(D, 1), ack(C)]);
    expect(s.context.attempts).toEqual({ [C]: 2, [D]: 1 });
    s = send(s, ack(D));
    expect(s.value).toBe('committed');
    expect(s.context.acked).toEqual([B, C, D]);
  });

  it('a distributing restore with nobody left pending commits at once', () => {
    const s = restoreAt('distributing', { pending: [], acked: [B, C, D] });
    expect(s.value).toBe('committed');
    expect(s.context.laggards).toEqual([]);
  });

  it('lands in committed, laggards and all', () => {
    const s = restoreAt('committed', {
      pending: [D],
      laggards: [D],
      committedAt: T2,
    });
    expect(s.value).toBe('committed');
    const late = send(s, ack(D));
    expect(late.context.laggards).toEqual([]);
    expect(late.context.acked).toEqual([B, D]);
    expect(send(s, retire()).value).toBe('retired');
  });

  it('lands in retired, final', () => {
    const s = restoreAt('retired', { pending: [], laggards: [], committedAt: T2 });
    expect(s.value).toBe('retired');
    expect(s.status).toBe('done');
  });
});

// ---- property ---------------------------------------------------------------------------------

type Step =
  | { kind: 'ack'; who: number }
  | { kind: 'retry'; who: number; attempt: number }
  | { kind: 'remove'; who: number }
  | { kind: 'deadline' };

/** Indexes beyond the member count name strangers. */
const stepArb = (max: number): fc.Arbitrary<Step> =>
  fc.oneof(
    fc.record({ kind: fc.constant('ack' as const), who: fc.nat({ max }) }),
    fc.record({
      kind: fc.constant('retry' as const),
      who: fc.nat({ max }),
      attempt: fc.integer({ min: 1, max: 9 }),
    }),
    fc.record({ kind: fc.constant('remove' as const), who: fc.nat({ max }) }),
    fc.constant({ kind: 'deadline' as const }),
  );

type StepEvent = Exclude<
  RotationEvent,
  {
    type:
      | 'rotation.start'
      | 'rotation.retire'
      | 'rotation.acks'
      | 'rotation.retries'
      | 'rotation.cancel';
  }
>;

const toEvent = (step: Step): StepEvent => {
  switch (step.kind) {
    case 'ack':
      return ack(peer(100 + step.who));
    case 'retry':
      return retry(peer(100 + step.who), step.attempt);
    case 'remove':
      return removed(peer(100 + step.who));
    case 'deadline':
      return deadline();
  }
};

describe('rotation machine: property', () => {
  it('any interleaving of acks, retries, removals and the deadline ends committed with acked ∪ laggards ∪ removed = members, disjoint', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.array(stepArb(8), { maxLength: 40 }),
        (n, steps) => {
          const members = Array.from({ length: n }, (_, i) => peer(100 + i));
          // reference model
          const pending = new Set(members);
          const removedSet = new Set<string>();
          const attempts: Record<string, number> = {};
          let isCommitted = members.length === 0;
          let s = send(fresh(), start(members));
          for (const step of steps) {
            const ev = toEvent(step);
            s = send(s, ev);
            if (ev.type === 'rotation.deadline') isCommitted = true;
            else if (!isCommitted && pending.has(ev.peerId)) {
              if (ev.type === 'rotation.ack' || ev.type === 'rotation.member-removed')
                pending.delete(ev.peerId);
              if (ev.type === 'rotation.member-removed') removedSet.add(ev.peerId);
              if (ev.type === 'rotation.retry') attempts[ev.peerId] = ev.attempt;
              if (pending.size === 0) isCommitted = true;
            }
            expect(s.value).toBe(isCommitted ? 'committed' : 'distributing');
          }
          s = send(s, deadline());
          expect(s.value).toBe('committed');
          const { acked, laggards, pending: left } = s.context;
          const all = [...acked, ...laggards, ...removedSet];
          expect(new Set(all).size).toBe(all.length); // disjoint
          expect(sorted(all)).toEqual(sorted(members)); // covering
          // `pending` froze at the commit: those were the laggards (some may have acked since)
          expect(left.every((p) => laggards.includes(p) || acked.includes(p))).toBe(true);
          expect(s.context.attempts).toEqual(attempts);
          // a laggard's late ack moves it over; the union still holds
          for (const p of [...laggards]) s = send(s, ack(p));
          expect(s.context.laggards).toEqual([]);
          expect(sorted([...s.context.acked, ...removedSet])).toEqual(sorted(members));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('rotation machine: acks and retries of one tick, as one event', () => {
  const acks = (peerIds: string[]) => ({ type: 'rotation.acks' as const, peerIds, at: T1 });
  const a = peer(1);
  const b = peer(2);
  const c = peer(3);

  it('takes the pending members of a batch, ignores the others, and commits with the last', () => {
    let s = send(fresh(), start([a, b, c]));
    s = send(s, acks([a, peer(9), a]));
    expect(s.value).toBe('distributing');
    expect(s.context.pending).toEqual([b, c]);
    expect(s.context.acked).toEqual([a]);
    const same = send(s, acks([a, peer(9)]));
    expect(same.context).toEqual(s.context); // nothing pending in it: not accepted
    s = send(s, acks([c, b]));
    expect(s.value).toBe('committed');
    expect([...s.context.acked].sort()).toEqual([a, b, c].sort());
    expect(s.context.laggards).toEqual([]);
  });

  it('counts a retry round only for the members still pending', () => {
    let s = send(fresh(), start([a, b]));
    s = send(s, ack(a));
    s = send(s, { type: 'rotation.retries', peerIds: [a, b], attempt: 2, at: T1 });
    expect(s.context.attempts).toEqual({ [b]: 2 });
  });

  it('takes late acks from laggards after a deadline commit', () => {
    let s = send(fresh(), start([a, b]));
    s = send(s, deadline());
    expect([...s.context.laggards].sort()).toEqual([a, b].sort());
    s = send(s, acks([b]));
    expect(s.value).toBe('committed');
    expect(s.context.laggards).toEqual([a]);
    expect(s.context.acked).toEqual([b]);
  });
});

describe('rotation machine: cancelled with its room', () => {
  const cancel = (at = T2): RotationEvent => ({
    type: 'rotation.cancel',
    reason: 'room-deleted',
    at,
  });

  it('cancel in proposed → cancelled, a final state, before anything was sent', () => {
    const s = send(fresh(), cancel());
    expect(s.value).toBe('cancelled');
    expect(s.status).toBe('done');
    expect(s.context.pending).toEqual([]);
  });

  it('cancel in distributing → cancelled, with no commit (no laggards, no committedAt)', () => {
    const s = run(distributing(), [ack(B), cancel()]);
    expect(s.value).toBe('cancelled');
    expect(s.status).toBe('done');
    expect(s.context).toMatchObject({
      acked: [B],
      pending: [C, D],
      laggards: [],
      committedAt: null,
    });
  });

  it('after a cancel, acks, retries, the deadline, a start and a retire change nothing', () => {
    const s = send(distributing(), cancel());
    for (const ev of [ack(C), retry(C, 2), removed(D), deadline(), start([E]), retire()])
      expectIgnored(s, ev);
    expectIgnored(s, { type: 'rotation.acks', peerIds: [C, D], at: T2 });
  });

  it('a committed or retired rotation is not cancelled (its key was the room’s)', () => {
    const committed = send(distributing([B]), ack(B));
    expectIgnored(committed, cancel());
    expectIgnored(send(committed, retire()), cancel());
  });

  it('restores into cancelled, final', () => {
    const before = send(distributing(), cancel());
    const { restoredState: _r, ...ctx } = before.context;
    const [s] = initialTransition(rotationMachine, {
      stream: STREAM,
      restore: { ...ctx, restoredState: null, state: 'cancelled' },
    });
    expect(s.value).toBe('cancelled');
    expect(s.status).toBe('done');
  });
});
