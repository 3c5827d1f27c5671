/**
 * A session as the HTTP and WebSocket layers use it: sealing and opening (`session-crypto.ts`),
 * re-keying (`rekey.ts`), and the session machine, which records what changed. Per-message work
 * stays out of the machine: this wrapper counts and reports counters in `activity` events, at most
 * once per `activityReportMs` and whenever the epoch count reaches a multiple of the re-key
 * threshold; decryption failures are reported at most once per reason per `failureReportMs`, with
 * the count since the last report, and push frames lost to a full poll queue likewise (once per
 * `dropReportMs`, and after each poll). An owed re-key confirmation is re-sent with backoff
 * (`confirm-backoff.ts`). Everything is synchronous, so concurrent requests are safe.
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
import { AppError } from '../../errors.js';
import {
  REKEY_DUE_STATE,
  type SessionEvent,
  type SessionFailureReason,
  sessionMachine,
} from '../../machines/session.machine.js';
import { confirmDueIn, confirmResent, type ConfirmBackoff } from './confirm-backoff.js';
import { createReportTally } from './report-tally.js';
import type { PushLosses, Session, SessionDeps, SessionInit } from './session-actor.types.js';
import { createSessionCrypto, type SessionCrypto } from './session-crypto.js';
import type { SessionMaterial } from './session-material.js';

export type { OpenedRequest, SealedRef } from './session-crypto.js';
export type {
  PushLosses,
  Session,
  SessionActorRef,
  SessionDeps,
  SessionInfo,
  SessionInit,
} from './session-actor.types.js';

/** How long a session without traffic lives (`SessionInit.idleTimeoutMs` by default). */
export const DEFAULT_IDLE_TIMEOUT_MS = 15 * 60_000;

const DEFAULTS = {
  idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
  rekeyAfterMessages: 1000,
  rekeyAfterMs: 10 * 60_000,
  rekeyTimeoutMs: 30_000,
  activityReportMs: 60_000,
  failureReportMs: 1_000,
  dropReportMs: 1_000,
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
  const pushTallies = {
    dropped: createReportTally(config.dropReportMs),
    missed: createReportTally(config.dropReportMs),
  };
  let confirmBackoff: ConfirmBackoff | undefined;
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

  function reportPushes(kind: keyof PushLosses, count: number, at: number): void {
    if (count === 0) return;
    send({ type: kind === 'dropped' ? 'push.dropped' : 'push.missed', count, at: iso(at) });
  }

  function countPushes(kind: keyof PushLosses, count: number): void {
    if (!isOpen || !Number.isSafeInteger(count) || count <= 0) return;
    const at = nowMs();
    reportPushes(kind, pushTallies[kind].add(count, at), at);
  }

  function flushPushes(at: number): void {
    for (const kind of ['dropped', 'missed'] as const) {
      reportPushes(kind, pushTallies[kind].flush(at), at);
    }
  }

  /** While our confirmation is owed, ms until it may be re-sent; otherwise undefined. */
  function owedConfirmIn(): number | undefined {
    if (!isOpen || crypto.rekey.state !== 'confirming') return undefined;
    return confirmDueIn(confirmBackoff, crypto.epoch, nowMs());
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
      if (state === 'confirming') return owedConfirmIn() === 0;
      if (state === 'awaiting-confirmation') return false;
      return actor.getSnapshot().matches(REKEY_DUE_STATE);
    },
    startRekey() {
      if (!isOpen) throw new AppError('ERR_UNKNOWN_SESSION', 'session is closed');
      const started = crypto.rekey.start();
      if (started === undefined) return undefined;
      if (started.isConfirm) {
        // The re-key itself is recorded as completed; this re-send only moves the backoff on.
        confirmBackoff = confirmResent(confirmBackoff, started.epoch, nowMs());
        return started.request;
      }
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
    confirmDueIn: owedConfirmIn,
    setLink(state) {
      if (!isOpen) return;
      send({ type: state === 'up' ? 'link.up' : 'link.down', at: iso(nowMs()) });
    },
    pushesDropped: (count) => countPushes('dropped', count),
    pushesMissed: (count) => countPushes('missed', count),
    flushPushReports() {
      if (isOpen) flushPushes(nowMs());
    },
    close(reason) {
      if (!isOpen) return;
      const at = nowMs();
      flushFailures(at);
      flushPushes(at);
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
        pushes: { dropped: pushTallies.dropped.total, missed: pushTallies.missed.total },
      };
    },
  };
}
