/**
 * Sessions with other peers: the responder side of the handshake (served by the peer API), the
 * requester side (`connect`, in `peer-connect.ts`), the established sessions with their sealed
 * requests, push frames over the WebSocket link (HTTP polling works without it), re-keying, expiry
 * and re-handshake. Keys live only in the session objects; actors see facts, the log sees facts.
 */
import { createEphemeralSource, pooledRandomBytes } from '../crypto/index.js';
import { AppError, isAppError } from '../errors.js';
import { HANDSHAKE_SUITES } from '../protocol/handshake.codec.js';
import { createReplayCache, seedReplayCache } from './handshake/replay-cache.js';
import { createHandshakeResponder } from './handshake/responder.js';
import type { EstablishedSession } from './handshake/types.js';
import { createPeerConnect } from './peer-connect.js';
import type {
  PeerSessions,
  PeerSessionsDeps,
  PeerSessionsInit,
  SessionView,
} from './peer-sessions.types.js';
import { createSession, DEFAULT_IDLE_TIMEOUT_MS } from './session/session-actor.js';
import { createDelivery, type Entry } from './session-delivery.js';

type Role = EstablishedSession['role'];
/** Slot order: a push prefers our own session (it can send sealed requests) over the peer's. */
const ROLES: readonly Role[] = ['requester', 'responder'];

export function createPeerSessions(init: PeerSessionsInit, deps: PeerSessionsDeps): PeerSessions {
  const now = deps.now ?? (() => new Date());
  const freshnessMs = init.freshnessMs ?? 60_000;
  const replayCache = createReplayCache({ freshnessMs });
  /**
   * Sids of retired sessions, kept as long as the other side may still send on one (its idle
   * expiry, plus an offer's freshness): a stranger who saw a sid in a URL must not handshake
   * under it while the peer still uses it — its requests would reach the stranger's session and
   * fail to open there, not as `unknown-session`, so it would never handshake again.
   */
  const idleMs = init.session?.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const retiredSids = createReplayCache({ freshnessMs: Math.ceil((idleMs + freshnessMs) / 2) });
  /** Ephemerals for both roles, one made ahead so neither side's handshake waits for a keygen. */
  const ephemerals = createEphemeralSource();
  const entries = new Map<string, Entry>();
  /** The session ids registered with each peer, one per role (ours as requester, as responder). */
  const bySlot = new Map<string, { [R in Role]?: string | undefined }>();
  const pins = { get: (peerId: string) => deps.pinState(peerId) };
  let pushCounter = 0;
  /** Handshake outcomes by `role|result` (result: established or a failure reason). */
  const handshakes = new Map<string, number>();
  const count = (role: 'requester' | 'responder', result: string): void => {
    const k = `${role}|${result}`;
    handshakes.set(k, (handshakes.get(k) ?? 0) + 1);
  };

  /**
   * Register an established session. A peer may hold one session per role with us (each side
   * opens its own to send requests), so a new session supersedes only the previous one of the same
   * role, and takes over the pushes still queued there for the peer's poll (those not sent yet); a
   * session whose machine ends (idle expiry) is retired at once, link and poll included.
   */
  function open(s: EstablishedSession, url: string | null): Entry {
    if (entries.has(s.sid)) {
      // Both handshake sides keep a sid in use off new handshakes (`isSidTaken`, `onOffer`): a
      // second session under one sid would take the first one's requests, link and slot.
      throw new AppError('ERR_HANDSHAKE_FAILED', 'this session id is already in use', {
        details: { reason: 'replayed' },
      });
    }
    const { chains, ...material } = s;
    const session = createSession(
      { sid: s.sid, peerId: s.peerId, role: s.role, keyId: s.keyId, suite: s.suite, chains },
      { spawnActor: deps.spawnActor, now },
      init.session,
    );
    const entry: Entry = {
      session,
      material,
      url,
      link: undefined,
      waiters: new Map(),
      outbox: [],
      pollTimer: undefined,
    };
    const slots = bySlot.get(s.peerId) ?? {};
    const previous = slots[s.role];
    entries.set(s.sid, entry);
    slots[s.role] = s.sid;
    bySlot.set(s.peerId, slots);
    if (previous !== undefined && previous !== s.sid) {
      const before = entries.get(previous);
      if (before?.material.peerId === s.peerId) retire(previous, 'superseded', entry);
    }
    // Only this entry: the sid could name another session later, which its expiry must not end.
    const expire = (): void => {
      if (entries.get(s.sid) === entry) retire(s.sid, 'expired');
    };
    session.actor.subscribe({
      next: (snapshot) => {
        if (snapshot.status !== 'active') expire();
      },
      complete: expire,
      error: expire,
    });
    if (session.actor.getSnapshot().status !== 'active') expire();
    deps.onEstablished(s, { url });
    return entry;
  }

  /** Forget a session; `successor` (its replacement) takes over the pushes waiting for a poll. */
  function retire(sid: string, reason: string, successor?: Entry): void {
    const e = entries.get(sid);
    if (!e) return;
    entries.delete(sid);
    retiredSids.add(sid, now().getTime());
    const { peerId, role } = e.material;
    const slots = bySlot.get(peerId);
    if (slots?.[role] === sid) {
      slots[role] = undefined;
      if (slots.requester === undefined && slots.responder === undefined) bySlot.delete(peerId);
    }
    e.link?.close(1000, reason);
    if (e.pollTimer) clearInterval(e.pollTimer);
    if (e.confirmTimer) clearTimeout(e.confirmTimer);
    // Before it closes: pushes it still held for the peer's poll move on or are counted as dropped
    // (logged in its stream), never lost unseen.
    delivery.retireOutbox(e, successor);
    e.session.close(reason);
  }

  const delivery = createDelivery({
    isCurrent: (entry) => entries.get(entry.material.sid) === entry,
    retire: (sid, reason) => retire(sid, reason),
    app: deps.app ?? {},
  });

  /** The peer's live session in `role`, if any (a lapsed one is retired). */
  function live(peerId: string, role: Role): Entry | undefined {
    const sid = bySlot.get(peerId)?.[role];
    const found = sid === undefined ? undefined : entries.get(sid);
    // The sid alone does not name the peer: the entry must be this peer's, in this role.
    const e = found?.material.peerId === peerId && found.material.role === role ? found : undefined;
    if (e && !e.session.info().isOpen) {
      retire(e.material.sid, 'expired');
      return undefined;
    }
    return e;
  }

  /**
   * The peer's live sessions, best first for a push: one whose link is up, then ours as
   * requester (a sealed request reaches the peer now), then the peer's (queued for its poll).
   */
  function liveSessions(peerId: string): Entry[] {
    const all = ROLES.map((role) => live(peerId, role)).filter((e) => e !== undefined);
    const isUp = (e: Entry): number => (e.link?.isOpen === true ? 0 : 1);
    return all.sort((x, y) => isUp(x) - isUp(y)); // stable: requester before responder
  }

  function viewOf(e: Entry): SessionView {
    const info = e.session.info();
    return {
      sessionId: e.material.sid,
      role: e.material.role,
      suite: e.material.suite,
      sas: e.material.sas,
      epoch: info.epoch,
      state: info.state,
      link: info.linkState,
      pushes: info.pushes,
    };
  }

  const { connect, usable, isOffering } = createPeerConnect({
    init,
    deps,
    now,
    freshnessMs,
    pins,
    delivery,
    count,
    open,
    live,
    ephemeral: ephemerals.take,
  });

  const responder = createHandshakeResponder({
    identity: init.identity,
    acceptedSuites:
      init.acceptedSuites ?? (init.rsaTransportKey ? HANDSHAKE_SUITES : ['x25519-aes256gcm']),
    freshnessMs,
    replayCache,
    pins,
    now,
    random: pooledRandomBytes,
    ephemeral: ephemerals.take,
    spawnActor: deps.spawnActor,
    isSidTaken: (sid) =>
      entries.has(sid) || isOffering(sid) || retiredSids.has(sid, now().getTime()),
    onEstablished: (s) => void open(s, null),
  });

  const api: PeerSessions = {
    handshakePort: {
      async offer(body) {
        const r = await responder.handleOffer(body);
        if (r.ok) return { ok: true, body: r.accept };
        count('responder', r.reason);
        if (r.reason === 'key-changed' || r.reason === 'identity-mismatch')
          deps.onSecurityAlert(r.reason, null, r.detail);
        return { ok: false, code: r.code, detail: r.detail, reason: r.reason };
      },
      async confirm(body) {
        const r = await responder.handleConfirm(body);
        count('responder', r.ok ? 'established' : r.reason);
        return r.ok
          ? { ok: true, body: r.done }
          : { ok: false, code: r.code, detail: r.detail, reason: r.reason };
      },
    },
    sessionPort: {
      request(sid, body) {
        const entry = entries.get(sid);
        if (!entry) {
          return Promise.resolve({
            ok: false,
            code: 'ERR_UNKNOWN_SESSION',
            detail: 'no such session; handshake again',
          });
        }
        return delivery.answer(entry, body);
      },
    },
    hasSession: (sid) => entries.has(sid),
    acceptLink(sid, link) {
      const entry = entries.get(sid);
      if (!entry) {
        link.close(4404, 'unknown session');
        return;
      }
      // A link proves nothing by itself: it replaces the session's link only once its first
      // frame opens under the session's keys, and later frames that do not open are dropped.
      delivery.attachWhenProven(entry, link);
    },
    connect,
    async request(peerId, inner, urls) {
      for (let attempt = 0; ; attempt++) {
        const entry = await usable(peerId, urls);
        try {
          await delivery.rekeyIfDue(entry);
          return await delivery.sendSealed(entry, inner);
        } catch (err) {
          // The peer restarted and forgot the session: handshake again and send once more. Any
          // other failure is the caller's to judge: one whose answer was lost after the peer acted
          // on it (reason `answer-lost`) is never sent again here, lest it take effect twice.
          const isForgotten = isAppError(err) && err.details?.reason === 'unknown-session';
          if (!isForgotten || attempt > 0) throw err;
        }
      }
    },
    async push(peerId, inner) {
      const entry = liveSessions(peerId)[0];
      if (!entry) return 'none';
      if (entry.url !== null && !entry.link?.isOpen) await delivery.rekeyIfDue(entry);
      return delivery.deliver(entry, inner);
    },
    isLinkUp: (peerId) => liveSessions(peerId).some((e) => e.link?.isOpen === true),
    sendFrame: (peerId, frame) =>
      liveSessions(peerId).some((e) => e.link?.isOpen === true && e.link.send(frame)),
    async ping(peerId, via) {
      // A push travels on any session (either role); a request needs one we opened.
      const entry =
        (via === 'push' ? liveSessions(peerId)[0] : undefined) ?? (await usable(peerId));
      const started = process.hrtime.bigint();
      if (via === 'request') {
        await delivery.rekeyIfDue(entry);
        const r = await delivery.sendSealed(entry, { method: 'POST', path: '/ping', body: {} });
        if (r.status !== 200)
          throw new AppError('ERR_PEER_UNREACHABLE', `ping answered ${r.status}`);
      } else {
        const n = ++pushCounter;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            entry.waiters.delete(n);
            reject(
              new AppError('ERR_TIMEOUT', 'no pong within 10 s (over the link, or by polling)'),
            );
          }, 10_000);
          entry.waiters.set(n, () => {
            clearTimeout(timer);
            entry.waiters.delete(n);
            resolve();
          });
          delivery.deliver(entry, { type: 'ping', n }).then(
            (how) => {
              // Sent by sealed request: the pong waits in the responder's outbox; fetch it now
              // rather than after a poll period. (Queued pushes wait for the requester's poll.)
              if (how === 'request') void delivery.poll(entry).catch(() => undefined);
            },
            (err: unknown) => {
              clearTimeout(timer);
              entry.waiters.delete(n);
              reject(err instanceof Error ? err : new Error(String(err)));
            },
          );
        });
      }
      const info = entry.session.info();
      return {
        rttMs: Number(process.hrtime.bigint() - started) / 1e6,
        via,
        epoch: info.epoch,
        sessionId: entry.material.sid,
      };
    },
    stats() {
      return {
        handshakes: [...handshakes.entries()].map(([k, n]) => {
          const [role = '', result = ''] = k.split('|');
          return { role, result, count: n };
        }),
        sessions: entries.size,
        linksUp: [...entries.values()].filter((e) => e.link?.isOpen === true).length,
        pushes: delivery.stats().pushes,
      };
    },
    sessionView(peerId) {
      // The session a push would take first; the other role's, if any, is listed beside it.
      const [first, ...others] = liveSessions(peerId).map(viewOf);
      return first === undefined ? null : { ...first, others };
    },
    seedReplayCache: (records) => seedReplayCache(replayCache, records, now().getTime()),
    closePeer(peerId, reason) {
      const sids = [...entries.values()]
        .filter((e) => e.material.peerId === peerId)
        .map((e) => e.material.sid);
      for (const sid of sids) retire(sid, reason);
      return sids.length;
    },
    close() {
      responder.close();
      ephemerals.close();
      for (const sid of [...entries.keys()]) retire(sid, 'shutdown');
    },
  };
  return api;
}
