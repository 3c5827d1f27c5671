/**
 * One room key rotation on the host, stream `rotation:<roomId>:<epoch>`:
 *
 * ```
 * proposed ──start──▶ distributing ──all acked / deadline──▶ committed ──retire──▶ retired
 *     └──────────────────────┴──cancel──▶ cancelled
 * ```
 *
 * `proposed`: the new epoch key exists (in the keystore, never here). `distributing`: it is being
 * delivered, wrapped to each current member; acks are collected, retries counted. `committed`:
 * every member acked, or the deadline passed (the members still missing are listed as laggards;
 * they get the key when they return). `retired`: a later epoch committed and this one's key left
 * the past-epoch window (shredded). `cancelled`: the room was deleted before the commit; its key
 * went to no one else after that and was shredded, nobody switches to it (final). A member removed
 * mid-rotation simply stops being waited for.
 *
 * Pure: times, members, attempts arrive in events; timers live in the runtime.
 */
import { assign, setup } from 'xstate';

/**
 * 2: `rotation.cancel` → `cancelled` (a deleted room's rotation ends there).
 * 3: `rotation.cancel` also for `key-lost`: a restarted host that no longer holds the key of a
 * rotation not yet committed (its keystore write failed) ends it; the room rotates again.
 */
export const ROTATION_MACHINE_VERSION = 3;

export type RotationInput =
  | RotationStart
  | {
      readonly stream: string;
      readonly restore: RotationContext & { readonly state: RotationStateName };
    };

export type RotationStateName = 'proposed' | 'distributing' | 'committed' | 'retired' | 'cancelled';

export interface RotationStart {
  readonly stream: string;
  readonly roomId: string;
  readonly epoch: number;
  readonly reason: string;
  /** A removal: the host already refuses the old epoch; members switch as soon as they hold it. */
  readonly mandatory: boolean;
  readonly proposedAt: string;
}

export interface RotationContext extends RotationStart {
  /** Members the key must reach (the host excluded: it holds the key). */
  readonly pending: readonly string[];
  readonly acked: readonly string[];
  readonly laggards: readonly string[];
  readonly attempts: Readonly<Record<string, number>>;
  readonly deadline: string | null;
  readonly startedAt: string | null;
  readonly committedAt: string | null;
  readonly restoredState: RotationStateName | null;
}

export type RotationEvent =
  | { type: 'rotation.start'; members: readonly string[]; deadline: string; at: string }
  | { type: 'rotation.ack'; peerId: string; at: string }
  /** Acks that arrived together (one event per tick, not per member). */
  | { type: 'rotation.acks'; peerIds: string[]; at: string }
  | { type: 'rotation.retry'; peerId: string; attempt: number; at: string }
  /** One retry round: the key sent again to every member still pending. */
  | { type: 'rotation.retries'; peerIds: string[]; attempt: number; at: string }
  | { type: 'rotation.deadline'; at: string }
  | { type: 'rotation.member-removed'; peerId: string; at: string }
  | { type: 'rotation.retire'; at: string }
  /** The room is gone (deleted): stop before the commit; `reason` says why, for the log. */
  | { type: 'rotation.cancel'; reason: 'room-deleted' | 'key-lost'; at: string };

const allAcked = (c: RotationContext): boolean => c.pending.length === 0;

/** Strictly ascending (so already sorted and without duplicates): no sort needed. */
function isAscending(ids: readonly string[]): boolean {
  for (let i = 1; i < ids.length; i++)
    if ((ids[i - 1] as string) >= (ids[i] as string)) return false;
  return true;
}

export const rotationMachine = setup({
  types: {
    input: {} as RotationInput,
    context: {} as RotationContext,
    events: {} as RotationEvent,
  },
  guards: {
    isPending: ({ context, event }) =>
      (event.type === 'rotation.ack' ||
        event.type === 'rotation.retry' ||
        event.type === 'rotation.member-removed') &&
      context.pending.includes(event.peerId),
    isLastAck: ({ context, event }) =>
      event.type === 'rotation.ack' &&
      context.pending.length === 1 &&
      context.pending[0] === event.peerId,
    isLastRemoval: ({ context, event }) =>
      event.type === 'rotation.member-removed' &&
      context.pending.length === 1 &&
      context.pending[0] === event.peerId,
    hasNobody: ({ event }) => event.type === 'rotation.start' && event.members.length === 0,
    anyPending: ({ context, event }) =>
      (event.type === 'rotation.acks' || event.type === 'rotation.retries') &&
      event.peerIds.some((p) => context.pending.includes(p)),
  },
  actions: {
    start: assign(({ event }) =>
      event.type === 'rotation.start'
        ? {
            pending: isAscending(event.members)
              ? [...event.members]
              : [...new Set(event.members)].sort(),
            deadline: event.deadline,
            startedAt: event.at,
          }
        : {},
    ),
    ack: assign(({ context, event }) =>
      event.type === 'rotation.ack'
        ? {
            pending: context.pending.filter((p) => p !== event.peerId),
            acked: [...context.acked, event.peerId],
          }
        : {},
    ),
    acks: assign(({ context, event }) => {
      if (event.type !== 'rotation.acks') return {};
      const waiting = new Set(context.pending);
      const fresh = [...new Set(event.peerIds)].filter((p) => waiting.has(p));
      const done = new Set(fresh);
      return {
        pending: context.pending.filter((p) => !done.has(p)),
        acked: [...context.acked, ...fresh],
      };
    }),
    retries: assign(({ context, event }) => {
      if (event.type !== 'rotation.retries') return {};
      const attempts = { ...context.attempts };
      for (const p of event.peerIds) if (context.pending.includes(p)) attempts[p] = event.attempt;
      return { attempts };
    }),
    drop: assign(({ context, event }) =>
      event.type === 'rotation.member-removed'
        ? { pending: context.pending.filter((p) => p !== event.peerId) }
        : {},
    ),
    retry: assign(({ context, event }) =>
      event.type === 'rotation.retry'
        ? { attempts: { ...context.attempts, [event.peerId]: event.attempt } }
        : {},
    ),
    commit: assign(({ context, event }) => ({
      laggards: context.pending,
      committedAt: 'at' in event ? event.at : null,
    })),
  },
}).createMachine({
  id: 'rotation',
  context: ({ input }) =>
    'restore' in input
      ? (({ state, ...ctx }) => ({ ...ctx, stream: input.stream, restoredState: state }))(
          input.restore,
        )
      : {
          ...input,
          pending: [],
          acked: [],
          laggards: [],
          attempts: {},
          deadline: null,
          startedAt: null,
          committedAt: null,
          restoredState: null,
        },
  initial: 'boot',
  states: {
    boot: {
      always: [
        {
          guard: ({ context }) => context.restoredState === 'distributing',
          target: 'distributing',
        },
        { guard: ({ context }) => context.restoredState === 'committed', target: 'committed' },
        { guard: ({ context }) => context.restoredState === 'retired', target: 'retired' },
        { guard: ({ context }) => context.restoredState === 'cancelled', target: 'cancelled' },
        { target: 'proposed' },
      ],
    },
    proposed: {
      on: {
        'rotation.start': [
          { guard: 'hasNobody', target: 'committed', actions: ['start', 'commit'] },
          { target: 'distributing', actions: 'start' },
        ],
        'rotation.cancel': { target: 'cancelled' },
      },
    },
    distributing: {
      always: { guard: ({ context }) => allAcked(context), target: 'committed', actions: 'commit' },
      on: {
        'rotation.ack': [
          { guard: 'isLastAck', target: 'committed', actions: ['ack', 'commit'] },
          { guard: 'isPending', actions: 'ack' },
        ],
        'rotation.member-removed': [
          { guard: 'isLastRemoval', target: 'committed', actions: ['drop', 'commit'] },
          { guard: 'isPending', actions: 'drop' },
        ],
        // `always` above commits when the last pending member is gone.
        'rotation.acks': { guard: 'anyPending', actions: 'acks' },
        'rotation.retry': { guard: 'isPending', actions: 'retry' },
        'rotation.retries': { guard: 'anyPending', actions: 'retries' },
        'rotation.deadline': { target: 'committed', actions: 'commit' },
        'rotation.cancel': { target: 'cancelled' },
      },
    },
    committed: {
      on: {
        // A laggard's late ack is still worth knowing (its epoch in `room members`).
        'rotation.ack': {
          guard: ({ context, event }) => context.laggards.includes(event.peerId),
          actions: assign(({ context, event }) => ({
            laggards: context.laggards.filter((p) => p !== event.peerId),
            acked: [...context.acked, event.peerId],
          })),
        },
        'rotation.acks': {
          guard: ({ context, event }) => event.peerIds.some((p) => context.laggards.includes(p)),
          actions: assign(({ context, event }) => {
            const late = new Set(event.peerIds.filter((p) => context.laggards.includes(p)));
            return {
              laggards: context.laggards.filter((p) => !late.has(p)),
              acked: [...context.acked, ...late],
            };
          }),
        },
        'rotation.retire': { target: 'retired' },
      },
    },
    retired: { type: 'final' },
    cancelled: { type: 'final' },
  },
});
