/**
 * Sessions with other peers: the responder side of the handshake (served by the peer API), the
 * requester side (`connect`), the established sessions with their sealed requests, push frames over
 * the WebSocket link (HTTP polling works without it), re-keying, expiry and re-handshake.
 * Keys live only in the session objects; actors see facts, the log sees facts.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import type { Identity } from '../crypto/index.js';
import { AppError, isAppError } from '../errors.js';
import type { InnerPush, InnerRequest, InnerResponse } from '../protocol/sealed.codec.js';
import { HANDSHAKE_SUITES, type HandshakeSuite } from '../protocol/handshake.codec.js';
import type { HandshakePort, SessionPort } from '../transport/http/peer-api.js';
import { peerRequest } from '../transport/http/peer-client.js';
import { checkHello } from '../transport/http/peer-hello.js';
import { connectLink, type Link } from '../transport/ws/peer-link.js';
import {
  createReplayCache,
  seedReplayCache,
  type RecordedOfferLike,
} from './handshake/replay-cache.js';
import { initiateHandshake } from './handshake/requester.js';
import { createHandshakeResponder } from './handshake/responder.js';
import type { EstablishedSession, SpawnActor } from './handshake/types.js';
import { createSession, type SessionInit } from './session/session-actor.js';
import { createDelivery, type AppHandlers, type Entry } from './session-delivery.js';

export interface PeerSessionsInit {
  readonly identity: Identity;
  readonly rsaTransportKey?: { readonly privateKey: KeyObject; readonly publicKey: KeyObject };
  /** Suites this peer accepts as responder, in preference order. */
  readonly acceptedSuites?: readonly HandshakeSuite[];
  readonly session?: SessionInit;
  readonly freshnessMs?: number;
  /** Open a WebSocket push link after a handshake as requester (default true); off → polling. */
  readonly links?: boolean;
}

export interface PeerSessionsDeps {
  readonly spawnActor: SpawnActor;
  readonly pinState: (peerId: string) => 'none' | 'unverified' | 'verified' | 'blocked';
  readonly now?: () => Date;
  /** A session was established (either role): pin it, announce it. */
  readonly onEstablished: (s: EstablishedSession, info: { url: string | null }) => void;
  readonly onSecurityAlert: (kind: string, peerId: string | null, detail: string) => void;
  /** Addresses where a peer can be reached (discovery), for a session we must open as requester. */
  readonly locate?: (peerId: string) => readonly string[];
  /** The application's handlers for sealed requests and pushes (rooms). */
  readonly app?: AppHandlers;
}

export interface ConnectResult {
  readonly peerId: string;
  readonly sessionId: string;
  readonly sas: string;
  readonly suite: string;
  readonly keyId: string;
  readonly link: 'up' | 'down';
}

export interface PingResult {
  readonly rttMs: number;
  readonly via: 'request' | 'push';
  readonly epoch: number;
  readonly sessionId: string;
}

export interface PeerSessions {
  readonly handshakePort: HandshakePort;
  readonly sessionPort: SessionPort;
  hasSession(sid: string): boolean;
  /** The responder side of a link: a peer connected to `/p2p/v1/session/:sid/link`. */
  acceptLink(sid: string, link: Link): void;
  connect(target: {
    url: string;
    expectedPeerId: string | null;
    suites?: readonly HandshakeSuite[];
  }): Promise<ConnectResult>;
  /**
   * A sealed request to a peer (re-keys first when due). Only the requester side of a session
   * sends requests, so when the peer opened the session to us (or there is none), this peer
   * handshakes to it first — at `urls`, or where it was last reached or discovered.
   */
  request(peerId: string, inner: InnerRequest, urls?: readonly string[]): Promise<InnerResponse>;
  /** Push a frame to a peer over its session: link, sealed request, or queued for its poll. */
  push(peerId: string, inner: InnerPush): Promise<'link' | 'request' | 'queued' | 'none'>;
  /** Whether the live session with `peerId` has its WebSocket link up. */
  isLinkUp(peerId: string): boolean;
  /** Send an application frame (not sealed here) on the link; false when there is no link. */
  sendFrame(peerId: string, frame: Buffer): boolean;
  ping(peerId: string, via: 'request' | 'push'): Promise<PingResult>;
  sessionView(peerId: string): unknown;
  /** Counters for metrics. */
  stats(): {
    handshakes: Array<{ role: string; result: string; count: number }>;
    sessions: number;
    linksUp: number;
  };
  /** Seed the handshake replay cache from recorded events (after a restart). */
  seedReplayCache(records: Iterable<RecordedOfferLike>): number;
  close(): void;
}

/** The peer id a URL's public hello claims, or null when it does not answer sensibly. */
async function whoIsAt(url: string): Promise<string | null> {
  try {
    const r = await peerRequest(url, 'GET', '/p2p/v1/hello', undefined, {
      timeoutMs: 3_000,
      maxBytes: 16_384,
    });
    const proven = checkHello(r.body, null);
    return proven.ok ? proven.value.peerId : null;
  } catch {
    return null;
  }
}

export function createPeerSessions(init: PeerSessionsInit, deps: PeerSessionsDeps): PeerSessions {
  const now = deps.now ?? (() => new Date());
  const freshnessMs = init.freshnessMs ?? 60_000;
  const replayCache = createReplayCache({ freshnessMs });
  const entries = new Map<string, Entry>();
  const latestByPeer = new Map<string, string>();
  /** Where we last reached each peer as requester: a lapsed session is re-handshaken there. */
  const lastUrl = new Map<string, string>();
  const pins = { get: (peerId: string) => deps.pinState(peerId) };
  let pushCounter = 0;
  /** Handshake outcomes by `role|result` (result: established or a failure reason). */
  const handshakes = new Map<string, number>();
  const count = (role: 'requester' | 'responder', result: string): void => {
    const k = `${role}|${result}`;
    handshakes.set(k, (handshakes.get(k) ?? 0) + 1);
  };

  function open(s: EstablishedSession, url: string | null): Entry {
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
    const previous = latestByPeer.get(s.peerId);
    entries.set(s.sid, entry);
    latestByPeer.set(s.peerId, s.sid);
    if (previous !== undefined && previous !== s.sid) retire(previous, 'superseded');
    deps.onEstablished(s, { url });
    return entry;
  }

  function retire(sid: string, reason: string): void {
    const e = entries.get(sid);
    if (!e) return;
    entries.delete(sid);
    if (latestByPeer.get(e.material.peerId) === sid) latestByPeer.delete(e.material.peerId);
    e.link?.close(1000, reason);
    if (e.pollTimer) clearInterval(e.pollTimer);
    e.session.close(reason);
  }

  const delivery = createDelivery({
    isCurrent: (entry) => entries.get(entry.material.sid) === entry,
    retire: (sid, reason) => retire(sid, reason),
    app: deps.app ?? {},
  });

  const responder = createHandshakeResponder({
    identity: init.identity,
    acceptedSuites:
      init.acceptedSuites ?? (init.rsaTransportKey ? HANDSHAKE_SUITES : ['x25519-aes256gcm']),
    freshnessMs,
    replayCache,
    pins,
    now,
    random: randomBytes,
    spawnActor: deps.spawnActor,
    onEstablished: (s) => void open(s, null),
  });

  /**
   * The live session with `peerId` on which this side sends requests; one that lapsed (or where
   * the peer is the requester) is handshaken again where we reached it, at `urls`, or where
   * discovery saw it.
   */
  async function usable(peerId: string, urls: readonly string[] = []): Promise<Entry> {
    const e = live(peerId);
    if (e && e.url !== null) return e;
    const candidates = [
      ...urls,
      ...(lastUrl.has(peerId) ? [lastUrl.get(peerId) as string] : []),
      ...(deps.locate?.(peerId) ?? []),
    ];
    const unique = [...new Set(candidates)];
    if (unique.length === 0) {
      throw new AppError(
        'ERR_NOT_FOUND',
        `no session with ${peerId.slice(0, 12)} and no address for it; run conclave connect URL first`,
      );
    }
    let lastError: unknown;
    for (const url of unique) {
      try {
        await api.connect({ url, expectedPeerId: peerId });
        const again = live(peerId);
        if (again && again.url !== null) return again;
        lastError = new AppError('ERR_HANDSHAKE_FAILED', 'the new session closed at once');
      } catch (err) {
        lastError = err;
        if (isAppError(err) && err.code === 'ERR_HANDSHAKE_FAILED') break; // wrong peer: stop
      }
    }
    throw lastError instanceof Error
      ? lastError
      : new AppError('ERR_PEER_UNREACHABLE', `could not reach ${peerId.slice(0, 12)}`);
  }

  function live(peerId: string): Entry | undefined {
    const sid = latestByPeer.get(peerId);
    const e = sid === undefined ? undefined : entries.get(sid);
    if (e && !e.session.info().isOpen) {
      retire(e.material.sid, 'expired');
      return undefined;
    }
    return e;
  }

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
    async connect(target) {
      const suites =
        target.suites ??
        (init.rsaTransportKey ? ['x25519-aes256gcm', 'rsaoaep-aes256gcm'] : ['x25519-aes256gcm']);
      const outcome = await initiateHandshake(
        {
          identity: init.identity,
          ...(init.rsaTransportKey ? { rsaTransportKey: init.rsaTransportKey } : {}),
          post: (url, path, body) => peerRequest(url, 'POST', path, body, { timeoutMs: 10_000 }),
          pins,
          now,
          random: randomBytes,
          spawnActor: deps.spawnActor,
          freshnessMs,
          onSecurityAlert: (a) =>
            deps.onSecurityAlert(String(a.type), target.expectedPeerId, JSON.stringify(a)),
        },
        { url: target.url, expectedPeerId: target.expectedPeerId, suites },
      );
      if (!outcome.ok) {
        count('requester', outcome.reason);
        let reason: string = outcome.reason;
        // The responder refuses an offer addressed to another peer id (`wrong-peer`): then the
        // peer we expected is not the one at that address. Ask who is there to say so precisely.
        if (reason === 'rejected' && target.expectedPeerId !== null) {
          const there = await whoIsAt(target.url);
          if (there !== null && there !== target.expectedPeerId) reason = 'key-changed';
        }
        if (reason === 'key-changed') {
          deps.onSecurityAlert(
            'key-changed',
            target.expectedPeerId,
            `${target.url} answered with another identity`,
          );
        }
        const code =
          outcome.reason === 'unreachable' || outcome.reason === 'timeout'
            ? 'ERR_PEER_UNREACHABLE'
            : 'ERR_HANDSHAKE_FAILED';
        throw new AppError(
          code,
          `handshake with ${target.url} failed: ${reason} (${outcome.detail})`,
          {
            details: {
              reason,
              ...(outcome.code ? { peerCode: outcome.code } : {}),
            },
          },
        );
      }
      count('requester', 'established');
      const entry = open(outcome.session, target.url);
      lastUrl.set(outcome.session.peerId, target.url);
      let linkState: 'up' | 'down' = 'down';
      try {
        if (init.links === false) throw new Error('links are off');
        delivery.attachAndProve(entry, await connectLink(target.url, outcome.session.sid));
        linkState = 'up';
      } catch {
        entry.session.setLink('down'); // sealed requests and polling still work
        delivery.schedulePoll(entry);
      }
      return {
        peerId: outcome.session.peerId,
        sessionId: outcome.session.sid,
        sas: outcome.session.sas,
        suite: outcome.session.suite,
        keyId: outcome.session.keyId,
        link: linkState,
      };
    },
    async request(peerId, inner, urls) {
      for (let attempt = 0; ; attempt++) {
        const entry = await usable(peerId, urls);
        try {
          await delivery.rekeyIfDue(entry);
          return await delivery.sendSealed(entry, inner);
        } catch (err) {
          // The peer restarted and forgot the session: handshake again and send once more.
          const isForgotten = isAppError(err) && err.details?.reason === 'unknown-session';
          if (!isForgotten || attempt > 0) throw err;
        }
      }
    },
    async push(peerId, inner) {
      const entry = live(peerId);
      if (!entry) return 'none';
      if (entry.url !== null && !entry.link?.isOpen) await delivery.rekeyIfDue(entry);
      return delivery.deliver(entry, inner);
    },
    isLinkUp: (peerId) => live(peerId)?.link?.isOpen === true,
    sendFrame: (peerId, frame) => {
      const link = live(peerId)?.link;
      return link?.isOpen === true && link.send(frame);
    },
    async ping(peerId, via) {
      // A push travels on any session (either role); a request needs one we opened.
      const entry = (via === 'push' ? live(peerId) : undefined) ?? (await usable(peerId));
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
      };
    },
    sessionView(peerId) {
      const e = live(peerId);
      if (!e) return null;
      const info = e.session.info();
      return {
        sessionId: e.material.sid,
        role: e.material.role,
        suite: e.material.suite,
        sas: e.material.sas,
        epoch: info.epoch,
        state: info.state,
        link: info.linkState,
      };
    },
    seedReplayCache: (records) => seedReplayCache(replayCache, records, now().getTime()),
    close() {
      responder.close();
      for (const sid of [...entries.keys()]) retire(sid, 'shutdown');
    },
  };
  return api;
}
