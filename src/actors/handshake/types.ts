/**
 * What the handshake drivers share with the runtime: the session material a successful handshake
 * yields, the seams the runtime provides (actor spawning, trust pins, clock, randomness) and the
 * rejection a responder answers with.
 */
import type { ActorRefFrom, AnyStateMachine, InputFrom } from 'xstate';
import type { SessionChains } from '../../crypto/handshake-key-schedule.js';
import type { ErrorCode } from '../../errors.js';
import type {
  HandshakeFailureReason,
  HandshakeRole,
  HandshakeSuite,
  IdentityKind,
  PinState,
} from '../../machines/handshake.types.js';

export type { SessionChains } from '../../crypto/handshake-key-schedule.js';

/** Peer API paths of the handshake (protocol §2.1, §2.5). */
export const OFFER_PATH = '/p2p/v1/handshake/offer';
export const CONFIRM_PATH = '/p2p/v1/handshake/confirm';

/**
 * The material of an established session. The chain keys are secrets: they go to the session
 * layer and nowhere else (never into events, context, logs or errors).
 */
export interface EstablishedSession {
  readonly sid: string;
  /** The other side. */
  readonly peerId: string;
  readonly peerKind: IdentityKind;
  readonly keyId: string;
  readonly sas: string;
  readonly suite: HandshakeSuite;
  readonly role: HandshakeRole;
  readonly establishedAt: string;
  /** 32-byte chain keys, oriented for this side (`send*` here is `recv*` there). */
  readonly chains: SessionChains;
}

/**
 * Start an actor for `machine` with `input` and return it started. The runtime provides it so it
 * controls recording (the recorder's `inspect`) and the actor tree.
 *
 * @example
 * const spawnActor: SpawnActor = (machine, input) =>
 *   createActor(machine, { input, inspect: recorder }).start() as never;
 */
export type SpawnActor = <M extends AnyStateMachine>(
  machine: M,
  input: InputFrom<M>,
) => ActorRefFrom<M>;

/** Trust pins as the drivers need them. */
export interface PinLookup {
  get(peerId: string): PinState;
}

/** Why a responder handler refused a message. */
export type RejectionReason = HandshakeFailureReason | 'unknown-session' | 'overloaded';

/** A responder handler's refusal: status and code agree with `transport/http/problem.ts`. */
export interface HandshakeRejection {
  readonly ok: false;
  readonly status: 400 | 404 | 422 | 503;
  readonly code: ErrorCode;
  readonly reason: RejectionReason;
  readonly detail: string;
}

/**
 * The refusal for a reason: `malformed` is a 400 `ERR_INVALID_MESSAGE`, an unknown session a 404,
 * overload a 503, and every handshake policy failure a 422 `ERR_HANDSHAKE_FAILED` whose `reason`
 * says which check failed.
 *
 * @example
 * rejection('stale', 'offer timestamp outside the window'); // { status: 422, code: 'ERR_HANDSHAKE_FAILED', … }
 */
export function rejection(reason: RejectionReason, detail: string): HandshakeRejection {
  switch (reason) {
    case 'malformed':
      return { ok: false, status: 400, code: 'ERR_INVALID_MESSAGE', reason, detail };
    case 'unknown-session':
      return { ok: false, status: 404, code: 'ERR_UNKNOWN_SESSION', reason, detail };
    case 'overloaded':
      return { ok: false, status: 503, code: 'ERR_OVERLOADED', reason, detail };
    default:
      return { ok: false, status: 422, code: 'ERR_HANDSHAKE_FAILED', reason, detail };
  }
}
