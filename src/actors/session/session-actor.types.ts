/**
 * The types of `session-actor.ts`: what a session takes (`SessionDeps`, `SessionInit`), what it
 * reports (`SessionInfo`) and the `Session` surface the HTTP and WebSocket layers use.
 */
import type { ActorRefFrom } from 'xstate';
import type { X25519KeyPair } from '../../crypto/index.js';
import type { InnerRequest, InnerResponse } from '../../protocol/sealed.codec.js';
import type { LinkState, SessionInput, SessionMachine } from '../../machines/session.machine.js';
import type { OpenedRequest, SessionCrypto, SessionCryptoStats } from './session-crypto.js';
import type { SessionRole } from './session-material.js';

export type SessionActorRef = ActorRefFrom<SessionMachine>;

export interface SessionDeps {
  /** Start the session machine where it is recorded (a child of the peer actor, in the runtime). */
  readonly spawnActor: (machine: SessionMachine, input: SessionInput) => SessionActorRef;
  readonly now: () => Date;
  /** Ephemeral X25519 keys for re-keying (default: fresh from node:crypto); for tests. */
  readonly generateEphemeral?: () => X25519KeyPair;
}

export interface SessionInit {
  /** Idle time after which the session expires (default 15 min). */
  readonly idleTimeoutMs?: number;
  /** Messages per epoch before the requester re-keys (default 1000; responder: twice). */
  readonly rekeyAfterMessages?: number;
  /** Epoch age before the requester re-keys (default 10 min; responder: twice). */
  readonly rekeyAfterMs?: number;
  /** A started re-key not completed within this is due again (default 30 s). */
  readonly rekeyTimeoutMs?: number;
  /** Superseded epochs keep receiving keys this long (default 30 s). */
  readonly graceMs?: number;
  /** Most frequent `activity` report by time (default 60 s). */
  readonly activityReportMs?: number;
  /** Most frequent `decrypt.failed` report per reason (default 1 s). */
  readonly failureReportMs?: number;
  /** Most frequent `push.dropped` / `push.missed` report, besides one per poll (default 1 s). */
  readonly dropReportMs?: number;
  /** Hard cap of messages per sending chain per epoch (default 65 536). */
  readonly maxMessagesPerEpoch?: number;
  readonly maxInFlight?: number;
}

export interface SessionInfo {
  readonly sid: string;
  readonly peerId: string;
  readonly role: SessionRole;
  /** Machine state, e.g. `{"active":{"keys":"current","idle":"watching"}}` or `closed`. */
  readonly state: string;
  readonly isOpen: boolean;
  readonly epoch: number;
  readonly keyId: string;
  readonly requestCount: number;
  readonly linkState: LinkState;
  readonly stats: SessionCryptoStats;
  /** Push frames lost to a full poll queue: ours (`dropped`), the peer's as it says (`missed`). */
  readonly pushes: PushLosses;
}

export interface PushLosses {
  readonly dropped: number;
  readonly missed: number;
}

/** The session's sealing and opening is its crypto's, as is (`session-crypto.types.ts`). */
export interface Session extends Pick<
  SessionCrypto,
  | 'sealRequest'
  | 'openRequest'
  | 'sealResponse'
  | 'openResponse'
  | 'cancelResponse'
  | 'sealPush'
  | 'openPush'
> {
  readonly sid: string;
  readonly peerId: string;
  readonly actor: SessionActorRef;
  /**
   * True when this side should call `startRekey` now — also to re-send our owed confirmation, at
   * most once per backoff interval (1 s, doubling up to 30 s).
   */
  needsRekey(): boolean;
  /** While our confirmation is owed: ms until it may be re-sent (0: now); otherwise undefined. */
  confirmDueIn(): number | undefined;
  /**
   * The inner `rekey` request to seal and send — or the owed `rekey.confirm` of our last re-key,
   * until the peer is seen on its epoch — or `undefined` while the peer's re-key is under way.
   */
  startRekey(): InnerRequest | undefined;
  /** Answer an opened request to `REKEY_PATH` (seal the result with `sealResponse`). */
  handleRekey(request: OpenedRequest): InnerResponse;
  /** Apply the response to our `rekey`; returns the confirmation request to seal and send. */
  completeRekey(response: InnerResponse): InnerRequest | undefined;
  setLink(state: LinkState): void;
  /** Our poll queue dropped `count` frames the peer had not acknowledged (protocol §3.6). */
  pushesDropped(count: number): void;
  /** The peer's poll answer says it dropped `count` more frames meant for us. */
  pushesMissed(count: number): void;
  /** Report the drops a rate limit held back (after each poll). */
  flushPushReports(): void;
  close(reason: string): void;
  info(): SessionInfo;
}
