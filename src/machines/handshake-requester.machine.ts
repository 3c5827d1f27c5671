/**
 * The requester's side of one handshake (protocol §2.4, §2.5): policy over facts. The driver
 * (`src/actors/handshake/requester.ts`) sends the offer, parses the accept (a body that does not
 * parse, or carries another sid, is `response.malformed`), computes the facts (identity binding,
 * signature over [TH, auth], whether `auth` opened, trust pin) and sends them in
 * `accept.received`; this machine applies the checks in the spec's order, so the first failing one
 * is the recorded reason. A `to` that answers with another peer id is `key-changed` and also emits
 * a `security.alert`.
 *
 * Pure: no I/O, clock, randomness or crypto; times arrive inside events (ISO strings).
 */
import { assign, emit, not, setup } from 'xstate';
import {
  DEFAULT_FRESHNESS_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  isFresh,
  type AcceptFacts,
  type AcceptSummary,
  type HandshakeFailureReason,
  type HandshakeSuite,
  type IdentityKind,
  type PinState,
  type TranscriptIds,
  type TransportFailure,
} from './handshake.types.js';

/**
 * 2: an accept from our own peer id is refused (`wrong-peer`), and a peer blocked while the
 * handshake waits for `hs.done` is refused then (`blocked`, the pin in `done.received`).
 */
export const HANDSHAKE_REQUESTER_MACHINE_VERSION = 2;

export interface HandshakeRequesterInput {
  /** `session:<expected peer id or 'unknown'>:<sid>`. */
  readonly stream: string;
  readonly sid: string;
  readonly selfPeerId: string;
  /** The peer id we mean to reach (from discovery or a pin), or `null` to connect by URL. */
  readonly expectedPeerId: string | null;
  readonly url: string;
  /** In our order of preference, as sent in the offer. */
  readonly offeredSuites: readonly HandshakeSuite[];
  readonly freshnessMs?: number;
  /** How long to wait for each answer (accept, then done); default 10 s. */
  readonly timeoutMs?: number;
}

export interface HandshakeRequesterContext {
  readonly stream: string;
  readonly sid: string;
  readonly selfPeerId: string;
  readonly expectedPeerId: string | null;
  readonly url: string;
  readonly offeredSuites: readonly HandshakeSuite[];
  readonly freshnessMs: number;
  readonly timeoutMs: number;
  readonly offerSentAt: string | null;
  readonly peerId: string | null;
  readonly peerKind: IdentityKind | null;
  readonly pin: PinState | null;
  readonly suite: HandshakeSuite | null;
  readonly keyId: string | null;
  readonly sas: string | null;
  readonly acceptedAt: string | null;
  readonly establishedAt: string | null;
  readonly failedAt: string | null;
  readonly reason: HandshakeFailureReason | null;
  /** For `rejected`: the responder's problem code (and its reason, if it gave one). */
  readonly rejection: { readonly status: number; readonly code: string | null } | null;
  readonly detail: string | null;
}

export type HandshakeRequesterEvent =
  | { type: 'offer.sent'; nonce: string; ts: number; at: string }
  | {
      type: 'accept.received';
      accept: AcceptSummary;
      receivedAt: string;
      facts: AcceptFacts;
      transcript: TranscriptIds;
    }
  | {
      type: 'done.received';
      macValid: boolean;
      /** The responder's pin now: it may have been blocked since the accept (absent before v2). */
      pin?: PinState;
      at: string;
    }
  /** An answer that does not parse, or answers another sid. */
  | { type: 'response.malformed'; message: 'hs.accept' | 'hs.done'; detail: string; at: string }
  | {
      type: 'transport.failed';
      reason: TransportFailure;
      /** HTTP status of a `rejected` answer. */
      status?: number;
      /** The responder's problem code of a `rejected` answer. */
      code?: string;
      detail?: string;
      at: string;
    };

export type HandshakeRequesterEmitted = {
  type: 'security.alert';
  kind: 'key-changed';
  expectedPeerId: string;
  peerId: string;
  sid: string;
  at: string;
};

type AcceptReceived = Extract<HandshakeRequesterEvent, { type: 'accept.received' }>;

const acceptOf = (event: HandshakeRequesterEvent): AcceptReceived | undefined =>
  event.type === 'accept.received' ? event : undefined;

export const handshakeRequesterMachine = setup({
  types: {
    input: {} as HandshakeRequesterInput,
    context: {} as HandshakeRequesterContext,
    events: {} as HandshakeRequesterEvent,
    emitted: {} as HandshakeRequesterEmitted,
  },
  delays: {
    answerTimeout: ({ context }) => context.timeoutMs,
  },
  guards: {
    isKeyChanged: ({ context, event }) => {
      const e = acceptOf(event);
      return (
        e !== undefined &&
        context.expectedPeerId !== null &&
        e.accept.from !== context.expectedPeerId
      );
    },
    isIdentityMismatch: ({ event }) => acceptOf(event)?.facts.identityMatches === false,
    isDowngraded: ({ context, event }) => {
      const e = acceptOf(event);
      return e !== undefined && !context.offeredSuites.includes(e.accept.suite);
    },
    isStale: ({ context, event }) => {
      const e = acceptOf(event);
      return e !== undefined && !isFresh(e.accept.ts, e.receivedAt, context.freshnessMs);
    },
    isBadSignature: ({ event }) => acceptOf(event)?.facts.signatureValid === false,
    isSelf: ({ context, event }) => acceptOf(event)?.accept.from === context.selfPeerId,
    isBlocked: ({ event }) => acceptOf(event)?.facts.pin === 'blocked',
    isBlockedAtDone: ({ event }) => event.type === 'done.received' && event.pin === 'blocked',
    isAuthClosed: ({ event }) => acceptOf(event)?.facts.authOpened === false,
    isMacValid: ({ event }) => event.type === 'done.received' && event.macValid,
  },
  actions: {
    assignOfferSent: assign(({ event }) =>
      event.type === 'offer.sent' ? { offerSentAt: event.at } : {},
    ),
    assignAccept: assign(({ event }) => {
      const e = acceptOf(event);
      if (e === undefined) return {};
      return {
        peerId: e.accept.from,
        peerKind: e.accept.kind,
        pin: e.facts.pin,
        suite: e.accept.suite,
        keyId: e.transcript.keyId,
        sas: e.transcript.sas,
        acceptedAt: e.receivedAt,
      };
    }),
    assignEstablished: assign(({ event }) =>
      event.type === 'done.received' ? { establishedAt: event.at } : {},
    ),
    fail: assign((_, params: { reason: HandshakeFailureReason }) => ({ reason: params.reason })),
    assignFailure: assign(({ event }) => {
      switch (event.type) {
        case 'accept.received':
          return { failedAt: event.receivedAt };
        case 'transport.failed':
          return {
            reason: event.reason,
            failedAt: event.at,
            detail: event.detail ?? null,
            rejection:
              event.reason === 'rejected'
                ? { status: event.status ?? 0, code: event.code ?? null }
                : null,
          };
        case 'response.malformed':
          return { failedAt: event.at, detail: `${event.message}: ${event.detail}` };
        case 'offer.sent':
        case 'done.received':
          return { failedAt: event.at };
      }
    }),
    alertKeyChanged: emit(({ context, event }) => ({
      type: 'security.alert' as const,
      kind: 'key-changed' as const,
      expectedPeerId: context.expectedPeerId ?? '',
      peerId: acceptOf(event)?.accept.from ?? '',
      sid: context.sid,
      at: acceptOf(event)?.receivedAt ?? '',
    })),
  },
}).createMachine({
  id: 'handshake-requester',
  context: ({ input }) => ({
    stream: input.stream,
    sid: input.sid,
    selfPeerId: input.selfPeerId,
    expectedPeerId: input.expectedPeerId,
    url: input.url,
    offeredSuites: input.offeredSuites,
    freshnessMs: input.freshnessMs ?? DEFAULT_FRESHNESS_MS,
    timeoutMs: input.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    offerSentAt: null,
    peerId: null,
    peerKind: null,
    pin: null,
    suite: null,
    keyId: null,
    sas: null,
    acceptedAt: null,
    establishedAt: null,
    failedAt: null,
    reason: null,
    rejection: null,
    detail: null,
  }),
  initial: 'offering',
  states: {
    /** Offer built; the driver posts it and reports `offer.sent`. */
    offering: {
      on: {
        'offer.sent': { target: 'awaitingAccept', actions: 'assignOfferSent' },
      },
    },
    awaitingAccept: {
      after: {
        answerTimeout: { target: 'failed', actions: fail('timeout') },
      },
      on: {
        // Protocol §2.4, in order (1, malformed, is decided by the codec: response.malformed).
        'accept.received': [
          {
            guard: 'isKeyChanged',
            target: 'failed',
            actions: [...fail('key-changed'), 'alertKeyChanged'],
          },
          { guard: 'isIdentityMismatch', target: 'failed', actions: fail('identity-mismatch') },
          { guard: 'isDowngraded', target: 'failed', actions: fail('downgraded') },
          { guard: 'isStale', target: 'failed', actions: fail('stale') },
          { guard: 'isBadSignature', target: 'failed', actions: fail('bad-signature') },
          // Our own key answered (we connected to our own address): never a session with ourselves.
          { guard: 'isSelf', target: 'failed', actions: fail('wrong-peer') },
          { guard: 'isBlocked', target: 'failed', actions: ['assignAccept', ...fail('blocked')] },
          { guard: 'isAuthClosed', target: 'failed', actions: fail('decrypt-failed') },
          { target: 'confirming', actions: 'assignAccept' },
        ],
        'response.malformed': { target: 'failed', actions: fail('malformed') },
        'transport.failed': { target: 'failed', actions: 'assignFailure' },
      },
    },
    /** Accept verified; the driver posts `hs.confirm` and reads `hs.done`. */
    confirming: {
      after: {
        answerTimeout: { target: 'failed', actions: fail('timeout') },
      },
      on: {
        'done.received': [
          { guard: not('isMacValid'), target: 'failed', actions: fail('bad-confirm') },
          // Blocked since the accept (`conclave block` while the handshake ran): no session.
          { guard: 'isBlockedAtDone', target: 'failed', actions: fail('blocked') },
          { target: 'established', actions: 'assignEstablished' },
        ],
        'response.malformed': { target: 'failed', actions: fail('malformed') },
        'transport.failed': { target: 'failed', actions: 'assignFailure' },
      },
    },
    established: { type: 'final' },
    failed: { type: 'final' },
  },
});

/** The two actions every policy failure runs. */
function fail(reason: HandshakeFailureReason) {
  return [{ type: 'fail' as const, params: { reason } }, { type: 'assignFailure' as const }];
}
