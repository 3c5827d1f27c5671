/**
 * A session as the HTTP and WebSocket layers use it: sealing and opening (`session-crypto.ts`),
 * re-keying (`rekey.ts`), and the session machine, which records what changed. Per-message work
 * stays out of the machine: this wrapper counts and reports counters in `activity` events, at most
 * once per `activityReportMs` and whenever the epoch count reaches a multiple of the re-key
 * threshold; decryption failures are reported at most once per reason per `failureReportMs`, with
 * the count since the last report. Everything is synchronous, so concurrent requests are safe.
 *
 * @example
 * const session = createSession(material, { spawnActor, now: () => new Date() });
 * const envelope = session.sealRequest({ method: 'POST', path: '/rooms/r1/messages', body });
 * const inner = session.openResponse(envelope, await post(`/p2p/v1/session/${sid}`, envelope));
 * if (session.needsRekey()) {
 *   const rekey = session.startRekey();
 *   if (rekey) { const req = session.sealRequest(rekey); // … post, open the response …
 *     const confirm = session.completeRekey(session.openResponse(req, body));
 *     if (confirm) await post(sid, session.sealRequest(confirm)); }
 * }
 */
import type { ActorRefFrom } from 'xstate';
import type { X25519KeyPair } from '../../crypto/index.js';
import { AppError } from '../../errors.js';
import type { InnerPush, InnerRequest, InnerResponse } from '../../protocol/sealed.codec.js';
import {
  REKEY_DUE_STATE,
  type LinkState,
  type SessionEvent,
  type SessionFailureReason,
  type SessionInput,
  type SessionMachine,
  sessionMachine,
} from '../../machines/session.machine.js';
import {
  createSessionCrypto,
  type OpenedRequest,
  type SealedRef,
  type SessionCrypto,
  type SessionCryptoStats,
} from './session-crypto.js';
import type { SessionMaterial, SessionRole } from './session-material.js';
import type { SealedEnvelope } from '../../protocol/sealed.codec.js';

export type { OpenedRequest, SealedRef } from './session-crypto.js';

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
}

export interface Session {
  readonly sid: string;
  readonly peerId: string;
  readonly actor: SessionActorRef;
  sealRequest(inner: InnerRequest): SealedEnvelope;
  openRequest(envelope: unknown): OpenedRequest;
  sealResponse(request: SealedRef, inner: InnerResponse): SealedEnvelope;
  openResponse(request: SealedRef, envelope: unknown): InnerResponse;
  cancelResponse(request: SealedRef): void;
  sealPush(inner: InnerPush): Buffer;
  openPush(frame: Uint8Array): InnerPush;
  /** True when this side should call `startRekey` now (also while our confirmation is owed). */
  needsRekey(): boolean;
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
  close(reason: string): void;
  info(): SessionInfo;
}

const DEFAULTS = {
  idleTimeoutMs: 15 * 60_000,
  rekeyAfterMessages: 1000,
  rekeyAfterMs: 10 * 60_000,
  rekeyTimeoutMs: 30_000,
  activityReportMs: 60_000,
  failureReportMs: 1_000,
} as const;

interface FailureTally {
  lastReportAt: number;
  unreported: number;
  epoch: number;
  seq: number;
}

/**
 * Build a session from handshake material (taken over: its key buffers are wiped).
 *
 * @example
 * const session = createSession(material, {
 *   spawnActor: (machine, input) => createActor(machine, { input, inspect: recorder }).start(),
 *   now: () => new Date(),
 * });
 */
export function createSession(
  material: SessionMaterial,
  deps: SessionDeps,
  init: SessionInit = {},
): Session {
  const nowMs = (): number => deps.now().getTime();
  const config = { ...DEFAULTS, ...init };
  const { sid, peerId, role } = material;
  const tallies = new Map<SessionFailureReason, FailureTally>();
  let isOpen = true;
  let lastReport = { at: Number.NEGATIVE_INFINITY, epoch: 0, messages: 0 };
  // The crypto observer is wired before the actor exists; it stays silent until first use.
  let send: (event: SessionEvent) => void = () => undefined;

  const crypto: SessionCrypto = createSessionCrypto(material, {
    now: nowMs,
    ...(init.graceMs === undefined ? {} : { graceMs: init.graceMs }),
    ...(init.maxMessagesPerEpoch === undefined ? {} : { chainLimit: init.maxMessagesPerEpoch }),
    ...(init.maxInFlight === undefined ? {} : { maxInFlight: init.maxInFlight }),
    ...(deps.generateEphemeral ? { generateEphemeral: deps.generateEphemeral } : {}),
    observer: {
      failed({ reason, epoch, seq }) {
        const t = tallies.get(reason) ?? {
          lastReportAt: Number.NEGATIVE_INFINITY,
          unreported: 0,
          epoch,
          seq,
        };
        tallies.set(reason, t);
        t.unreported++;
        t.epoch = epoch;
        t.seq = seq;
        const at = nowMs();
        if (at - t.lastReportAt < config.failureReportMs) return;
        send({ type: 'decrypt.failed', reason, epoch, seq, count: t.unreported, at: iso(at) });
        t.lastReportAt = at;
        t.unreported = 0;
      },
      promoted(epoch, keyId) {
        send({ type: 'rekey.completed', epoch, keyId, at: iso(nowMs()) });
      },
      retired(epoch) {
        send({ type: 'epoch.retired', epoch, at: iso(nowMs()) });
      },
    },
  });

  const actor = deps.spawnActor(sessionMachine, {
    stream: `session:${peerId}:${sid}`,
    sid,
    peerId,
    role,
    keyId: material.keyId,
    suite: material.suite,
    startedAt: deps.now().toISOString(),
    idleTimeoutMs: config.idleTimeoutMs,
    rekeyAfterMessages: config.rekeyAfterMessages,
    rekeyAfterMs: config.rekeyAfterMs,
    rekeyTimeoutMs: config.rekeyTimeoutMs,
  });
  send = (event) => actor.send(event);
  const subscription = actor.subscribe({
    next: (snapshot) => {
      if (snapshot.status !== 'active') shutDown();
    },
    complete: () => shutDown(),
    error: () => shutDown(),
  });

  function iso(ms: number): string {
    return new Date(ms).toISOString();
  }

  function shutDown(): void {
    if (!isOpen) return;
    isOpen = false;
    crypto.destroy();
    subscription.unsubscribe();
  }

  function flushFailures(at: number): void {
    for (const [reason, t] of tallies) {
      if (t.unreported === 0) continue;
      const { epoch, seq, unreported: count } = t;
      send({ type: 'decrypt.failed', reason, epoch, seq, count, at: iso(at) });
      t.lastReportAt = at;
      t.unreported = 0;
    }
  }

  const requestCount = (): number => {
    const s = crypto.stats();
    return s.sealed.requests + s.opened.requests;
  };

  /** After every sealed or opened message: report counters when due (rarely). */
  function counted(): void {
    const epoch = crypto.epoch;
    const messages = crypto.epochMessages;
    const threshold = config.rekeyAfterMessages;
    const crossed =
      epoch !== lastReport.epoch ||
      Math.floor(messages / threshold) > Math.floor(lastReport.messages / threshold);
    const at = nowMs();
    if (!crossed && at - lastReport.at < config.activityReportMs) return;
    lastReport = { at, epoch, messages };
    send({
      type: 'activity',
      epoch,
      epochMessages: messages,
      requestCount: requestCount(),
      at: iso(at),
    });
  }

  function guarded<T>(fn: () => T): T {
    if (!isOpen) throw new AppError('ERR_UNKNOWN_SESSION', 'session is closed');
    const result = fn();
    // Only successful seals and opens count as activity: forged traffic keeps no session alive.
    counted();
    return result;
  }

  return {
    sid,
    peerId,
    actor,
    sealRequest: (inner) => guarded(() => crypto.sealRequest(inner)),
    openRequest: (envelope) => guarded(() => crypto.openRequest(envelope)),
    sealResponse: (request, inner) => guarded(() => crypto.sealResponse(request, inner)),
    openResponse: (request, envelope) => guarded(() => crypto.openResponse(request, envelope)),
    cancelResponse: (request) => crypto.cancelResponse(request),
    sealPush: (inner) => guarded(() => crypto.sealPush(inner)),
    openPush: (frame) => guarded(() => crypto.openPush(frame)),

    needsRekey() {
      if (!isOpen) return false;
      const state = crypto.rekey.state;
      if (state === 'confirming') return true;
      if (state === 'awaiting-confirmation') return false;
      return actor.getSnapshot().matches(REKEY_DUE_STATE);
    },
    startRekey() {
      if (!isOpen) throw new AppError('ERR_UNKNOWN_SESSION', 'session is closed');
      const started = crypto.rekey.start();
      if (started === undefined) return undefined;
      if (started.isConfirm) return started.request; // the re-key itself is recorded as completed
      send({ type: 'rekey.started', epoch: started.epoch, initiator: 'self', at: iso(nowMs()) });
      return started.request;
    },
    handleRekey(request) {
      if (!isOpen) throw new AppError('ERR_UNKNOWN_SESSION', 'session is closed');
      const handled = crypto.rekey.handle(request.inner);
      const at = iso(nowMs());
      if (handled.abandonedOwn) {
        send({ type: 'rekey.abandoned', epoch: handled.epoch, reason: 'conflict', at });
      }
      if (handled.outcome === 'accepted') {
        send({ type: 'rekey.started', epoch: handled.epoch, initiator: 'peer', at });
      }
      return handled.response;
    },
    completeRekey(response) {
      if (!isOpen) throw new AppError('ERR_UNKNOWN_SESSION', 'session is closed');
      const done = crypto.rekey.complete(response);
      if (done.outcome === 'rejected' || done.outcome === 'failed') {
        send({
          type: 'rekey.abandoned',
          epoch: done.epoch,
          reason: done.outcome,
          at: iso(nowMs()),
        });
      }
      return done.confirm;
    },
    setLink(state) {
      if (!isOpen) return;
      send({ type: state === 'up' ? 'link.up' : 'link.down', at: iso(nowMs()) });
    },
    close(reason) {
      if (!isOpen) return;
      const at = nowMs();
      flushFailures(at);
      send({ type: 'session.close', reason, at: iso(at) });
      shutDown();
    },
    info() {
      const snapshot = actor.getSnapshot();
      const value = snapshot.value;
      if (isOpen) crypto.retireExpired();
      return {
        sid,
        peerId,
        role,
        state: typeof value === 'string' ? value : JSON.stringify(value),
        isOpen,
        epoch: crypto.epoch,
        keyId: crypto.keyId,
        requestCount: requestCount(),
        linkState: snapshot.context.linkState,
        stats: crypto.stats(),
      };
    },
  };
}
