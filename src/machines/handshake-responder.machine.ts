/**
 * The responder's side of one handshake (protocol §2.2, §2.5): policy over facts. The driver
 * (`src/actors/handshake/responder.ts`) parses the offer, computes the facts (replay cache, identity
 * binding, signature, trust pin) and sends them in `offer.received`; this machine applies the
 * checks in the spec's order, so the first failing one is the recorded reason, and picks the suite
 * (first of **our** preferences that was offered). The driver reads the choice from context,
 * builds and signs the accept, and reports `accept.sent`; the confirm MAC's validity arrives in
 * `confirm.received`.
 *
 * Pure: no I/O, clock, randomness or crypto; times arrive inside events (ISO strings), so a
 * recorded `session:<peerId>:<sid>` stream replays through `transition()` exactly.
 */
import { assign, not, setup } from 'xstate';
import {
  DEFAULT_FRESHNESS_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  isFresh,
  isHandshakeSuite,
  type HandshakeFailureReason,
  type HandshakeSuite,
  type IdentityKind,
  type OfferFacts,
  type OfferSummary,
  type PinState,
} from './handshake.types.js';

/**
 * 2: an offer from our own peer id is refused (`wrong-peer`), and a peer blocked while the
 * handshake waits for its confirm is refused then (`blocked`, the pin in `confirm.received`).
 */
export const HANDSHAKE_RESPONDER_MACHINE_VERSION = 2;

export interface HandshakeResponderInput {
  /** `session:<requester peer id>:<sid>`. */
  readonly stream: string;
  readonly sid: string;
  readonly selfPeerId: string;
  /** Suites we accept, in our order of preference. */
  readonly acceptedSuites: readonly HandshakeSuite[];
  readonly freshnessMs?: number;
  /** How long to wait for `hs.confirm` after the accept (default 10 s). */
  readonly timeoutMs?: number;
}

export interface HandshakeResponderContext {
  readonly stream: string;
  readonly sid: string;
  readonly selfPeerId: string;
  readonly acceptedSuites: readonly HandshakeSuite[];
  readonly freshnessMs: number;
  readonly timeoutMs: number;
  /** The requester (authenticated once past the signature check). */
  readonly peerId: string | null;
  readonly peerKind: IdentityKind | null;
  readonly pin: PinState | null;
  readonly offeredSuites: readonly string[] | null;
  /** Our choice; the driver builds the accept for it. */
  readonly suite: HandshakeSuite | null;
  readonly keyId: string | null;
  readonly sas: string | null;
  readonly receivedAt: string | null;
  readonly acceptedAt: string | null;
  readonly establishedAt: string | null;
  readonly failedAt: string | null;
  readonly reason: HandshakeFailureReason | null;
}

export type HandshakeResponderEvent =
  | {
      type: 'offer.received';
      offer: OfferSummary;
      /** Our clock at receipt, ISO. */
      receivedAt: string;
      facts: OfferFacts;
    }
  | {
      type: 'accept.sent';
      keyId: string;
      sas: string;
      /** Our `ts` in the accept, ms since epoch. */
      ts: number;
      nonce: string;
      at: string;
    }
  /** The accept could not be built (e.g. a low-order ephemeral in a signed offer). */
  | { type: 'accept.failed'; reason: 'malformed'; at: string }
  | {
      type: 'confirm.received';
      macValid: boolean;
      /** The requester's pin now: it may have been blocked since the offer (absent before v2). */
      pin?: PinState;
      at: string;
    };

type OfferReceived = Extract<HandshakeResponderEvent, { type: 'offer.received' }>;

function chooseSuite(ctx: HandshakeResponderContext, offered: readonly string[]) {
  return ctx.acceptedSuites.find((s) => offered.includes(s) && isHandshakeSuite(s)) ?? null;
}

const offerOf = (event: HandshakeResponderEvent): OfferReceived | undefined =>
  event.type === 'offer.received' ? event : undefined;

export const handshakeResponderMachine = setup({
  types: {
    input: {} as HandshakeResponderInput,
    context: {} as HandshakeResponderContext,
    events: {} as HandshakeResponderEvent,
  },
  delays: {
    confirmTimeout: ({ context }) => context.timeoutMs,
  },
  guards: {
    isWrongPeer: ({ context, event }) => {
      const e = offerOf(event);
      return e !== undefined && e.offer.to !== null && e.offer.to !== context.selfPeerId;
    },
    isStale: ({ context, event }) => {
      const e = offerOf(event);
      return e !== undefined && !isFresh(e.offer.ts, e.receivedAt, context.freshnessMs);
    },
    isReplayed: ({ event }) => offerOf(event)?.facts.isReplayed === true,
    isIdentityMismatch: ({ event }) => offerOf(event)?.facts.identityMatches === false,
    isBadSignature: ({ event }) => offerOf(event)?.facts.signatureValid === false,
    isSelf: ({ context, event }) => offerOf(event)?.offer.from === context.selfPeerId,
    isBlocked: ({ event }) => offerOf(event)?.facts.pin === 'blocked',
    isBlockedAtConfirm: ({ event }) => event.type === 'confirm.received' && event.pin === 'blocked',
    hasNoCommonSuite: ({ context, event }) => {
      const e = offerOf(event);
      return e !== undefined && chooseSuite(context, e.offer.suites) === null;
    },
    isMacValid: ({ event }) => event.type === 'confirm.received' && event.macValid,
  },
  actions: {
    assignOffer: assign(({ context, event }) => {
      const e = offerOf(event);
      if (e === undefined) return {};
      return {
        peerId: e.offer.from,
        peerKind: e.offer.kind,
        pin: e.facts.pin,
        offeredSuites: e.offer.suites,
        suite: chooseSuite(context, e.offer.suites),
        receivedAt: e.receivedAt,
      };
    }),
    assignAccepted: assign(({ event }) => {
      if (event.type !== 'accept.sent') return {};
      return { keyId: event.keyId, sas: event.sas, acceptedAt: event.at };
    }),
    assignEstablished: assign(({ event }) =>
      event.type === 'confirm.received' ? { establishedAt: event.at } : {},
    ),
    fail: assign((_, params: { reason: HandshakeFailureReason }) => ({ reason: params.reason })),
    stampFailure: assign(({ event }) => {
      if (event.type === 'offer.received') return { failedAt: event.receivedAt };
      return 'at' in event ? { failedAt: event.at } : {};
    }),
  },
}).createMachine({
  id: 'handshake-responder',
  context: ({ input }) => ({
    stream: input.stream,
    sid: input.sid,
    selfPeerId: input.selfPeerId,
    acceptedSuites: input.acceptedSuites,
    freshnessMs: input.freshnessMs ?? DEFAULT_FRESHNESS_MS,
    timeoutMs: input.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    peerId: null,
    peerKind: null,
    pin: null,
    offeredSuites: null,
    suite: null,
    keyId: null,
    sas: null,
    receivedAt: null,
    acceptedAt: null,
    establishedAt: null,
    failedAt: null,
    reason: null,
  }),
  initial: 'awaitingOffer',
  states: {
    awaitingOffer: {
      on: {
        // Protocol §2.2, in order: the first failing check is the reason.
        'offer.received': [
          { guard: 'isWrongPeer', target: 'failed', actions: fail('wrong-peer') },
          { guard: 'isStale', target: 'failed', actions: fail('stale') },
          { guard: 'isReplayed', target: 'failed', actions: fail('replayed') },
          { guard: 'isIdentityMismatch', target: 'failed', actions: fail('identity-mismatch') },
          { guard: 'isBadSignature', target: 'failed', actions: fail('bad-signature') },
          // Our own key (connecting to our own address): never a session with ourselves.
          { guard: 'isSelf', target: 'failed', actions: fail('wrong-peer') },
          { guard: 'isBlocked', target: 'failed', actions: ['assignOffer', ...fail('blocked')] },
          {
            guard: 'hasNoCommonSuite',
            target: 'failed',
            actions: ['assignOffer', ...fail('unknown-suite')],
          },
          { target: 'accepting', actions: 'assignOffer' },
        ],
      },
    },
    /** Suite chosen (context.suite); the driver is building and signing the accept. */
    accepting: {
      on: {
        'accept.sent': { target: 'awaitingConfirm', actions: 'assignAccepted' },
        'accept.failed': { target: 'failed', actions: fail('malformed') },
      },
    },
    awaitingConfirm: {
      after: {
        confirmTimeout: { target: 'failed', actions: fail('timeout') },
      },
      on: {
        'confirm.received': [
          { guard: not('isMacValid'), target: 'failed', actions: fail('bad-confirm') },
          // Blocked since the offer (`conclave block` while the handshake ran): no session.
          { guard: 'isBlockedAtConfirm', target: 'failed', actions: fail('blocked') },
          { target: 'established', actions: 'assignEstablished' },
        ],
      },
    },
    established: { type: 'final' },
    failed: { type: 'final' },
  },
});

/** The two actions every failing transition runs. */
function fail(reason: HandshakeFailureReason) {
  return [{ type: 'fail' as const, params: { reason } }, { type: 'stampFailure' as const }];
}
