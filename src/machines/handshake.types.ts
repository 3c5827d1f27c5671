/**
 * Types shared by the two handshake machines (`handshake-requester`, `handshake-responder`), their
 * drivers (`src/actors/handshake/`) and the runtime: suites, the one failure-reason union, the
 * facts a driver computes and the public summaries of wire messages that events carry.
 *
 * Everything here is public: machine events and context are recorded in the event log, so they
 * hold peer ids, key ids, SAS, suites, nonces and timestamps, never keys or secrets.
 */

export {
  HANDSHAKE_SUITES,
  isHandshakeSuite,
  type HandshakeSuite,
} from '../protocol/handshake.codec.js';
import type { HandshakeSuite } from '../protocol/handshake.codec.js';

/**
 * Why a handshake failed: the first failing check of protocol §2.2 (responder) or §2.4
 * (requester), or a transport outcome. Every failed handshake has exactly one.
 */
export type HandshakeFailureReason =
  | 'bad-signature'
  | 'stale'
  | 'replayed'
  | 'unknown-suite'
  | 'downgraded'
  | 'key-changed'
  | 'identity-mismatch'
  | 'wrong-peer'
  | 'blocked'
  | 'decrypt-failed'
  | 'bad-confirm'
  | 'timeout'
  | 'unreachable'
  | 'rejected'
  | 'malformed';

/** Every `HandshakeFailureReason`, e.g. for counters and exhaustive tests. */
export const HANDSHAKE_FAILURE_REASONS: readonly HandshakeFailureReason[] = [
  'bad-signature',
  'stale',
  'replayed',
  'unknown-suite',
  'downgraded',
  'key-changed',
  'identity-mismatch',
  'wrong-peer',
  'blocked',
  'decrypt-failed',
  'bad-confirm',
  'timeout',
  'unreachable',
  'rejected',
  'malformed',
];

/** What our trust store says about a peer id (`none`: never seen, trust on first use). */
export type PinState = 'none' | 'unverified' | 'verified' | 'blocked';

export type HandshakeRole = 'requester' | 'responder';

export type IdentityKind = 'ed25519' | 'rsa';

/** The public facts of a received `hs.offer` that the responder's policy needs (and the log keeps). */
export interface OfferSummary {
  readonly sid: string;
  /** Claimed requester peer id (authenticated only once `identityMatches` and `signatureValid`). */
  readonly from: string;
  readonly kind: IdentityKind;
  /** The responder the requester expects, or `null` (connect by URL). */
  readonly to: string | null;
  /** Base64url; kept so the replay cache can be rebuilt from the log after a restart. */
  readonly nonce: string;
  /** Requester clock, ms since epoch. */
  readonly ts: number;
  /** As offered, in the requester's order (unknown names included). */
  readonly suites: readonly string[];
}

/** The public facts of a received `hs.accept` that the requester's policy needs. */
export interface AcceptSummary {
  readonly sid: string;
  readonly from: string;
  readonly kind: IdentityKind;
  readonly suite: HandshakeSuite;
  readonly nonce: string;
  /** Responder clock, ms since epoch. */
  readonly ts: number;
}

/** What the responder's driver established about an offer (crypto and stores), before policy. */
export interface OfferFacts {
  /** The nonce is in the replay cache (an authentic offer already seen within 2 × window). */
  readonly isReplayed: boolean;
  /** SHA-256(publicKey) = from and the key's kind = kind. */
  readonly identityMatches: boolean;
  /** The offer signature verifies under `publicKey` (false when the key did not import). */
  readonly signatureValid: boolean;
  readonly pin: PinState;
}

/** What the requester's driver established about an accept, before policy. */
export interface AcceptFacts {
  readonly identityMatches: boolean;
  /** The signature over [TH, auth] verifies (false when the identity does not match). */
  readonly signatureValid: boolean;
  /**
   * `auth` opened under kHs. Only evaluated after a valid signature (we never decrypt what is not
   * authenticated); `false` otherwise, which policy never reaches because bad-signature comes first.
   */
  readonly authOpened: boolean;
  readonly pin: PinState;
}

/** Public identifiers of the transcript, derived by the driver from TH. */
export interface TranscriptIds {
  /** First 8 bytes of SHA-256(TH), hex. */
  readonly keyId: string;
  /** `computeSas(TH)`: both sides show it. */
  readonly sas: string;
}

/** How the requester's HTTP exchange failed before any accept/done was read. */
export type TransportFailure = 'unreachable' | 'timeout' | 'rejected';

/** Default time a machine waits for the next message before failing with `timeout`. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Default freshness window of protocol §2.2/§2.4 (|now − ts| ≤ 60 s). */
export const DEFAULT_FRESHNESS_MS = 60_000;

/**
 * Whether `ts` (ms since epoch, sender clock) lies within `freshnessMs` of `receivedAt` (ISO).
 * Pure: both times come from recorded events.
 *
 * @example
 * isFresh(offer.ts, '2026-01-01T00:00:00.000Z', 60_000);
 */
export function isFresh(ts: number, receivedAt: string, freshnessMs: number): boolean {
  const at = Date.parse(receivedAt);
  return Number.isFinite(at) && Math.abs(at - ts) <= freshnessMs;
}

/**
 * The event stream of one handshake (and the session it opens): `session:<peerId>:<sid>`, with the
 * other side's peer id, or `unknown` while a requester that connected by URL has not learned it.
 *
 * @example
 * sessionStream(offer.from, offer.sid); // 'session:3f2a…:Zk9…'
 */
export function sessionStream(peerId: string | null, sid: string): string {
  return `session:${peerId ?? 'unknown'}:${sid}`;
}
