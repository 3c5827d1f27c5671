/**
 * The lifecycle of one session after its handshake, as the event log sees it: which epoch seals
 * its traffic, when a re-key is due, started, completed or abandoned, when a superseded epoch's
 * keys were wiped, decryption failures by reason, the push link, push frames lost to a full poll
 * queue (ours: `push.dropped`; the peer's, as it tells us: `push.missed`), idle expiry and close.
 *
 * Only meaningful changes are events. Single sealed messages are not: the session actor counts
 * them and reports counters in `activity` events, at most once per report interval and whenever
 * the epoch's count reaches a multiple of the re-key threshold. So the log grows with changes and
 * time, not with traffic. No keys, plaintext or ciphertext ever enter events or context.
 *
 * Pure: times arrive inside events; the idle, re-key and re-key timeout delays are `after`
 * transitions whose events the recorder logs like any other.
 *
 * ```
 * active (parallel)
 *   keys:  current ──(count ≥ N | after T)──▶ rekeyDue ──rekey.started──▶ rekeying
 *          rekeying ──rekey.completed──▶ current      rekeying ──abandoned | timeout──▶ rekeyDue
 *   idle:  watching ──(after idleTimeout)──▶ #expired     activity re-enters watching
 * expired | closed (final)
 * ```
 */
import { assign, setup } from 'xstate';

/** 2: `push.dropped` / `push.missed` and their counters (protocol §3.6). */
export const SESSION_MACHINE_VERSION = 2;

export type SessionRole = 'requester' | 'responder';
export type SessionFailureReason = 'decrypt-failed' | 'replayed' | 'unknown-epoch';
export type LinkState = 'up' | 'down';

export interface SessionInput {
  /** `session:<peerId>:<sid>` */
  readonly stream: string;
  readonly sid: string;
  readonly peerId: string;
  readonly role: SessionRole;
  /** Names epoch 0's keys (from the handshake transcript hash). */
  readonly keyId: string;
  readonly suite: string;
  readonly startedAt: string;
  readonly idleTimeoutMs: number;
  /** Messages per epoch after which the requester re-keys (the responder at twice this). */
  readonly rekeyAfterMessages: number;
  /** Epoch age after which the requester re-keys (the responder at twice this). */
  readonly rekeyAfterMs: number;
  /** How long a started re-key may take before it is due again. */
  readonly rekeyTimeoutMs: number;
}

export interface SessionContext extends SessionInput {
  readonly epoch: number;
  /** Requests sealed or opened over the session, as of the last `activity` report. */
  readonly requestCount: number;
  /** Messages in the current epoch, as of the last `activity` report. */
  readonly epochMessages: number;
  readonly lastActivityAt: string;
  readonly failures: Readonly<Record<SessionFailureReason, number>>;
  /** Push frames our poll queue dropped before the peer acknowledged them (protocol §3.6). */
  readonly droppedPushes: number;
  /** Push frames the peer says its poll queue dropped before we acknowledged them. */
  readonly missedPushes: number;
  readonly linkState: LinkState;
  /** The epoch a started re-key moves to, while one is under way. */
  readonly rekeyEpoch: number | null;
  /** A superseded epoch whose receiving keys are still held for in-flight messages. */
  readonly graceEpoch: number | null;
  readonly closeReason: string | null;
  readonly closedAt: string | null;
}

export type SessionEvent =
  | {
      type: 'activity';
      epoch: number;
      epochMessages: number;
      requestCount: number;
      at: string;
    }
  | { type: 'rekey.started'; epoch: number; initiator: 'self' | 'peer'; at: string }
  | { type: 'rekey.completed'; epoch: number; keyId: string; at: string }
  | {
      type: 'rekey.abandoned';
      epoch: number;
      reason: 'conflict' | 'rejected' | 'failed';
      at: string;
    }
  | { type: 'epoch.retired'; epoch: number; at: string }
  | {
      type: 'decrypt.failed';
      reason: SessionFailureReason;
      epoch: number;
      seq: number;
      /** Failures of this reason since the last report (reports are rate-limited). */
      count: number;
      at: string;
    }
  /** Our poll queue dropped `count` frames since the last report (reports are rate-limited). */
  | { type: 'push.dropped'; count: number; at: string }
  /** The peer's poll answers say it dropped `count` more frames for us since the last report. */
  | { type: 'push.missed'; count: number; at: string }
  | { type: 'link.up'; at: string }
  | { type: 'link.down'; at: string }
  | { type: 'session.close'; reason: string; at: string };

type EventOf<T extends SessionEvent['type']> = Extract<SessionEvent, { type: T }>;

/** Thresholds are doubled for the responder: the requester re-keys first, by design. */
const roleFactor = (role: SessionRole): number => (role === 'requester' ? 1 : 2);

/** State value of `keys` in which `needsRekey()` is true. */
export const REKEY_DUE_STATE = { active: { keys: 'rekeyDue' } } as const;

export const sessionMachine = setup({
  types: {
    input: {} as SessionInput,
    context: {} as SessionContext,
    events: {} as SessionEvent,
  },
  delays: {
    idleTimeout: ({ context }) => context.idleTimeoutMs,
    rekeyInterval: ({ context }) => context.rekeyAfterMs * roleFactor(context.role),
    rekeyTimeout: ({ context }) => context.rekeyTimeoutMs,
  },
  guards: {
    isRekeyDue: ({ context, event }) =>
      event.type === 'activity' &&
      event.epoch === context.epoch &&
      event.epochMessages >= context.rekeyAfterMessages * roleFactor(context.role),
    isNextEpoch: ({ context, event }) =>
      (event.type === 'rekey.started' ||
        event.type === 'rekey.completed' ||
        event.type === 'rekey.abandoned') &&
      event.epoch === context.epoch + 1,
    isGraceEpoch: ({ context, event }) =>
      event.type === 'epoch.retired' && event.epoch === context.graceEpoch,
    isLinkDown: ({ context }) => context.linkState === 'down',
    isLinkUp: ({ context }) => context.linkState === 'up',
  },
  actions: {
    assignActivity: assign(({ event }) => {
      const e = event as EventOf<'activity'>;
      return {
        requestCount: e.requestCount,
        epochMessages: e.epochMessages,
        lastActivityAt: e.at,
      };
    }),
    assignRekeyStarted: assign(({ event }) => ({
      rekeyEpoch: (event as EventOf<'rekey.started'>).epoch,
    })),
    clearRekey: assign({ rekeyEpoch: null }),
    assignEpoch: assign(({ context, event }) => {
      const e = event as EventOf<'rekey.completed'>;
      return {
        epoch: e.epoch,
        keyId: e.keyId,
        epochMessages: 0,
        rekeyEpoch: null,
        graceEpoch: context.epoch,
      };
    }),
    clearGrace: assign({ graceEpoch: null }),
    countFailure: assign(({ context, event }) => {
      const e = event as EventOf<'decrypt.failed'>;
      return {
        failures: { ...context.failures, [e.reason]: context.failures[e.reason] + e.count },
      };
    }),
    countDropped: assign(({ context, event }) => ({
      droppedPushes: context.droppedPushes + (event as EventOf<'push.dropped'>).count,
    })),
    countMissed: assign(({ context, event }) => ({
      missedPushes: context.missedPushes + (event as EventOf<'push.missed'>).count,
    })),
    linkUp: assign({ linkState: 'up' as const }),
    linkDown: assign({ linkState: 'down' as const }),
    assignClose: assign(({ event }) => {
      const e = event as EventOf<'session.close'>;
      return { closeReason: e.reason, closedAt: e.at };
    }),
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({
    ...input,
    epoch: 0,
    requestCount: 0,
    epochMessages: 0,
    lastActivityAt: input.startedAt,
    failures: { 'decrypt-failed': 0, replayed: 0, 'unknown-epoch': 0 },
    droppedPushes: 0,
    missedPushes: 0,
    linkState: 'down',
    rekeyEpoch: null,
    graceEpoch: null,
    closeReason: null,
    closedAt: null,
  }),
  initial: 'active',
  states: {
    active: {
      type: 'parallel',
      on: {
        'session.close': { target: 'closed', actions: 'assignClose' },
        'decrypt.failed': { actions: 'countFailure' },
        'push.dropped': { actions: 'countDropped' },
        'push.missed': { actions: 'countMissed' },
        'link.up': { guard: 'isLinkDown', actions: 'linkUp' },
        'link.down': { guard: 'isLinkUp', actions: 'linkDown' },
        'epoch.retired': { guard: 'isGraceEpoch', actions: 'clearGrace' },
      },
      states: {
        keys: {
          initial: 'current',
          states: {
            current: {
              after: { rekeyInterval: 'rekeyDue' },
              on: {
                activity: { guard: 'isRekeyDue', target: 'rekeyDue' },
                'rekey.started': {
                  guard: 'isNextEpoch',
                  target: 'rekeying',
                  actions: 'assignRekeyStarted',
                },
                'rekey.completed': {
                  guard: 'isNextEpoch',
                  target: 'current',
                  reenter: true,
                  actions: 'assignEpoch',
                },
              },
            },
            rekeyDue: {
              on: {
                'rekey.started': {
                  guard: 'isNextEpoch',
                  target: 'rekeying',
                  actions: 'assignRekeyStarted',
                },
                'rekey.completed': {
                  guard: 'isNextEpoch',
                  target: 'current',
                  actions: 'assignEpoch',
                },
              },
            },
            rekeying: {
              after: { rekeyTimeout: 'rekeyDue' },
              on: {
                'rekey.started': {
                  guard: 'isNextEpoch',
                  target: 'rekeying',
                  reenter: true,
                  actions: 'assignRekeyStarted',
                },
                'rekey.completed': {
                  guard: 'isNextEpoch',
                  target: 'current',
                  actions: 'assignEpoch',
                },
                'rekey.abandoned': {
                  guard: 'isNextEpoch',
                  target: 'rekeyDue',
                  actions: 'clearRekey',
                },
              },
            },
          },
        },
        idle: {
          initial: 'watching',
          states: {
            watching: {
              after: { idleTimeout: '#session.expired' },
              on: {
                activity: { target: 'watching', reenter: true, actions: 'assignActivity' },
              },
            },
          },
        },
      },
    },
    expired: { type: 'final' },
    closed: { type: 'final' },
  },
});

export type SessionMachine = typeof sessionMachine;
