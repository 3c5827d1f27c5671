/**
 * The requester side of sessions: handshake to a URL (`connect`), name the failure precisely, open
 * the WebSocket push link (or fall back to polling), and find a usable session for a peer —
 * handshaking again where we last reached it, where the caller says, or where discovery saw it.
 */
import { pooledRandomBytes, type X25519KeyPair } from '../crypto/index.js';
import { AppError, isAppError } from '../errors.js';
import { peerRequest } from '../transport/http/peer-client.js';
import { checkHello } from '../transport/http/peer-hello.js';
import { connectLink } from '../transport/ws/peer-link.js';
import { initiateHandshake } from './handshake/requester.js';
import type { EstablishedSession, PinLookup } from './handshake/types.js';
import type {
  ConnectResult,
  ConnectTarget,
  PeerSessionsDeps,
  PeerSessionsInit,
} from './peer-sessions.types.js';
import type { Delivery, Entry } from './session-delivery.js';

/** What the requester side needs from the session table that `createPeerSessions` keeps. */
export interface ConnectCore {
  readonly init: PeerSessionsInit;
  readonly deps: PeerSessionsDeps;
  readonly now: () => Date;
  readonly freshnessMs: number;
  readonly pins: PinLookup;
  readonly delivery: Delivery;
  /** Count a handshake outcome for metrics. */
  readonly count: (role: 'requester' | 'responder', result: string) => void;
  /** Register an established session (superseding the peer's previous one in the same role). */
  readonly open: (s: EstablishedSession, url: string | null) => Entry;
  /** The peer's live session in `role`, if any (a lapsed one is retired). */
  readonly live: (peerId: string, role: EstablishedSession['role']) => Entry | undefined;
  /** Fresh X25519 ephemerals (one made ahead; see `createEphemeralSource`). */
  readonly ephemeral: () => X25519KeyPair;
}

export interface PeerConnect {
  readonly connect: (target: ConnectTarget) => Promise<ConnectResult>;
  /**
   * The live session with `peerId` on which this side sends requests (ours, as requester); when
   * there is none, one is handshaken at `urls`, where we last reached the peer, or where discovery
   * saw it. Concurrent callers share the handshake under way; a failed one is not remembered.
   */
  readonly usable: (peerId: string, urls?: readonly string[]) => Promise<Entry>;
  /** Whether `sid` is the session id of one of our offers still in flight. */
  readonly isOffering: (sid: string) => boolean;
}

/**
 * Whether a failed handshake at one of a peer's addresses leaves the others worth trying: it did
 * not reach the peer, or another identity answers there (a stale address another peer now has).
 * Any other refusal came from the peer itself, which would say the same at every address.
 */
function isTryElsewhere(err: unknown): boolean {
  return !isAppError(err) || err.code !== 'ERR_HANDSHAKE_FAILED' || isKeyChanged(err);
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

export function createPeerConnect(core: ConnectCore): PeerConnect {
  const { init, deps, now, freshnessMs, pins, delivery, count, open, live, ephemeral } = core;
  /** Where we last reached each peer as requester: a lapsed session is re-handshaken there. */
  const lastUrl = new Map<string, string>();
  /** Session ids of our offers in flight, until their session is registered or they fail. */
  const offering = new Set<string>();

  async function connect(target: ConnectTarget): Promise<ConnectResult> {
    let sid: string | undefined;
    try {
      return await connectOnce(target, (s) => {
        sid = s;
        offering.add(s);
      });
    } finally {
      if (sid !== undefined) offering.delete(sid);
    }
  }

  async function connectOnce(
    target: ConnectTarget,
    onOffer: (sid: string) => void,
  ): Promise<ConnectResult> {
    const suites =
      target.suites ??
      (init.rsaTransportKey ? ['x25519-aes256gcm', 'rsaoaep-aes256gcm'] : ['x25519-aes256gcm']);
    /** Who answered in place of the expected peer (the machine's `key-changed` alert). */
    let answeredBy: string | null = null;
    const outcome = await initiateHandshake(
      {
        identity: init.identity,
        ...(init.rsaTransportKey ? { rsaTransportKey: init.rsaTransportKey } : {}),
        post: (url, path, body) => peerRequest(url, 'POST', path, body, { timeoutMs: 10_000 }),
        pins,
        now,
        random: pooledRandomBytes,
        ephemeral,
        spawnActor: deps.spawnActor,
        freshnessMs,
        onOffer,
        // Raised once below, with the refusals only a hello can name (`wrong-peer` answers).
        onSecurityAlert: (a) => {
          answeredBy = a.peerId;
        },
      },
      { url: target.url, expectedPeerId: target.expectedPeerId, suites },
    );
    if (!outcome.ok) {
      count('requester', outcome.reason);
      let reason: string = outcome.reason;
      let detail = outcome.detail;
      // The responder refuses an offer addressed to another peer id (`wrong-peer`): then the
      // peer we expected is not the one at that address. Ask who is there to say so precisely.
      // An offer by URL that it refuses as `wrong-peer` came back to us: that URL is our own.
      const isWrongPeer = reason === 'rejected' && detail === 'wrong-peer';
      if (reason === 'rejected' && (target.expectedPeerId !== null || isWrongPeer)) {
        const there = await whoIsAt(target.url);
        answeredBy ??= there;
        if (there === init.identity.fingerprint) reason = 'wrong-peer';
        // By URL no key was expected: another peer's refusal is no changed key (and no alert).
        else if (
          target.expectedPeerId !== null &&
          there !== null &&
          there !== target.expectedPeerId
        )
          reason = 'key-changed';
      }
      // Our own machine says `wrong-peer` only for our own key answering.
      if (reason === 'wrong-peer') detail = 'that address is this peer; connect to another one';
      if (reason === 'key-changed') {
        deps.onSecurityAlert(
          'key-changed',
          target.expectedPeerId,
          `${target.url} answered with another identity${answeredBy === null ? '' : ` (${answeredBy})`}`,
        );
      }
      const code =
        outcome.reason === 'unreachable' || outcome.reason === 'timeout'
          ? 'ERR_PEER_UNREACHABLE'
          : 'ERR_HANDSHAKE_FAILED';
      throw new AppError(code, `handshake with ${target.url} failed: ${reason} (${detail})`, {
        details: {
          reason,
          ...(outcome.code ? { peerCode: outcome.code } : {}),
        },
      });
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
  }

  /** Handshakes under way as requester, by peer id: concurrent callers join them. */
  const connecting = new Map<string, Promise<Entry>>();

  function usable(peerId: string, urls: readonly string[] = []): Promise<Entry> {
    const e = live(peerId, 'requester');
    if (e) return Promise.resolve(e);
    const pending = connecting.get(peerId);
    if (pending) return pending;
    const started = handshakeTo(peerId, urls).finally(() => {
      if (connecting.get(peerId) === started) connecting.delete(peerId);
    });
    connecting.set(peerId, started);
    return started;
  }

  async function handshakeTo(peerId: string, urls: readonly string[]): Promise<Entry> {
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
    return atEachAddress<Entry>(unique, async (url) => {
      await connect({ url, expectedPeerId: peerId });
      return (
        live(peerId, 'requester') ??
        new AppError('ERR_HANDSHAKE_FAILED', 'the new session closed at once')
      );
    });
  }

  return { connect, usable, isOffering: (sid) => offering.has(sid) };
}

/**
 * Try a peer's addresses in turn until `attempt` gives a result: past an address that does not
 * reach the peer or where another identity answers (`isTryElsewhere`), not past a refusal by the
 * peer itself. `attempt` may also return an Error: nothing here, try the next. What is thrown at
 * the end is the last error — a changed key rather than a later unreachable address.
 */
export async function atEachAddress<T extends object>(
  urls: readonly string[],
  attempt: (url: string) => Promise<T | Error>,
): Promise<T> {
  let lastError: unknown;
  const note = (err: unknown): void => {
    if (!(isKeyChanged(lastError) && !isKeyChanged(err))) lastError = err;
  };
  for (const url of urls) {
    try {
      const r = await attempt(url);
      if (!(r instanceof Error)) return r;
      note(r);
    } catch (err) {
      note(err);
      if (!isTryElsewhere(err)) break; // the peer itself refused: stop
    }
  }
  throw lastError instanceof Error
    ? lastError
    : new AppError('ERR_PEER_UNREACHABLE', 'none of its addresses answered');
}

/** A handshake refusal because another identity answered (see `isTryElsewhere`). */
function isKeyChanged(err: unknown): boolean {
  return (
    isAppError(err) && err.code === 'ERR_HANDSHAKE_FAILED' && err.details?.reason === 'key-changed'
  );
}
