/**
 * The types of `session-crypto.ts`: what sealing and opening take and give, the facts reported
 * to the session actor, and the counters.
 */
import type { X25519KeyPair } from '../../crypto/index.js';
import type {
  InnerPush,
  InnerRequest,
  InnerResponse,
  SealedEnvelope,
} from '../../protocol/sealed.codec.js';
import type { EpochLimits } from './epoch-keys.js';
import type { RekeyProtocol } from './rekey.js';
import type { Channel, SessionMaterial } from './session-material.js';

export type FailureReason = 'decrypt-failed' | 'replayed' | 'unknown-epoch';

export interface OpenFailure {
  readonly reason: FailureReason;
  readonly channel: Channel;
  readonly epoch: number;
  readonly seq: number;
}

/** Facts the session actor turns into machine events. Called synchronously, inside the call. */
export interface SessionCryptoObserver {
  failed?(failure: OpenFailure): void;
  /** A new epoch now seals our messages. */
  promoted?(epoch: number, keyId: string): void;
  /** A superseded epoch's keys were wiped. */
  retired?(epoch: number): void;
}

export interface SessionCryptoOptions extends EpochLimits {
  /** Clock in ms (default `Date.now`): only for the grace of superseded epochs. */
  readonly now?: () => number;
  readonly graceMs?: number;
  readonly maxInFlight?: number;
  readonly generateEphemeral?: () => X25519KeyPair;
  readonly observer?: SessionCryptoObserver;
}

/** Names one sealed request: a response is bound to it. A `SealedEnvelope` is one. */
export interface SealedRef {
  readonly epoch: number;
  readonly seq: number;
}

export interface OpenedRequest extends SealedRef {
  readonly inner: InnerRequest;
}

export type Counts = { requests: number; responses: number; push: number };

export interface SessionCryptoStats {
  readonly epoch: number;
  readonly keyId: string;
  readonly epochMessages: number;
  readonly heldEpochs: readonly number[];
  readonly storedKeys: number;
  readonly pendingResponses: number;
  readonly owedResponses: number;
  readonly sealed: Readonly<Counts>;
  readonly opened: Readonly<Counts>;
  readonly failures: Readonly<Record<FailureReason, number>>;
  readonly malformed: number;
  readonly rekey: RekeyProtocol['state'];
}

export interface SessionCrypto {
  readonly sid: string;
  readonly peerId: string;
  readonly role: SessionMaterial['role'];
  readonly epoch: number;
  readonly keyId: string;
  readonly isDestroyed: boolean;
  /** Messages sealed or opened under the current epoch. */
  readonly epochMessages: number;
  sealRequest(inner: InnerRequest): SealedEnvelope;
  openRequest(envelope: unknown): OpenedRequest;
  sealResponse(request: SealedRef, inner: InnerResponse): SealedEnvelope;
  openResponse(request: SealedRef, envelope: unknown): InnerResponse;
  /** Give up on the response to one of our requests (timeout, network error): wipes its key. */
  cancelResponse(request: SealedRef): void;
  sealPush(inner: InnerPush): Buffer;
  openPush(frame: Uint8Array): InnerPush;
  readonly rekey: RekeyProtocol;
  /** Wipe a superseded epoch whose grace ran out (also done lazily by every seal and open). */
  retireExpired(): void;
  stats(): SessionCryptoStats;
  /** Wipe every key. Later calls throw `ERR_UNKNOWN_SESSION`. */
  destroy(): void;
}
