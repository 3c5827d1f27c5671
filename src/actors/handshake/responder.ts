/**
 * The responder's imperative shell around `handshake-responder.machine`: parses bodies with the
 * codec, computes the facts (replay cache, identity binding, signature, trust pin), lets the
 * machine decide, builds the accept it chose, checks the confirm MAC and hands the session keys to
 * `onEstablished` once — and only once — the requester proved it holds the keys. Independent of
 * HTTP: the peer API calls `handleOffer`/`handleConfirm` with parsed JSON and maps the answers.
 *
 * Never throws on wire input: every refusal is a `HandshakeRejection` (4xx, or 503 when the
 * replay cache or the pending table is full).
 */
import type { ActorRefFrom } from 'xstate';
import { buildAccept } from '../../crypto/handshake-accept.js';
import {
  chainsFor,
  confirmMac,
  verifyConfirmMac,
  wipeHandshakeKeys,
  type HandshakeKeys,
} from '../../crypto/handshake-key-schedule.js';
import { checkOffer } from '../../crypto/handshake-offer.js';
import { toBase64Url, wipe } from '../../crypto/bytes.js';
import type { Identity } from '../../crypto/identity.js';
import { AppError } from '../../errors.js';
import { generateX25519KeyPair, type X25519KeyPair } from '../../crypto/x25519.js';
import {
  decodeConfirm,
  decodeOffer,
  type HandshakeAccept,
  type HandshakeDone,
  type HandshakeOffer,
} from '../../protocol/handshake.codec.js';
import { handshakeResponderMachine } from '../../machines/handshake-responder.machine.js';
import {
  DEFAULT_FRESHNESS_MS,
  sessionStream,
  type HandshakeSuite,
  type OfferFacts,
} from '../../machines/handshake.types.js';
import { createReplayCache, type ReplayCache } from './replay-cache.js';
import {
  rejection,
  type EstablishedSession,
  type HandshakeRejection,
  type PinLookup,
  type SpawnActor,
} from './types.js';

export interface HandshakeResponderDeps {
  readonly identity: Identity;
  /** Suites we accept, in our order of preference. */
  readonly acceptedSuites: readonly HandshakeSuite[];
  readonly freshnessMs?: number;
  /** How long an accepted handshake waits for `hs.confirm` (default 10 s). */
  readonly timeoutMs?: number;
  readonly replayCache: ReplayCache;
  readonly pins: PinLookup;
  readonly now: () => Date;
  readonly random: (n: number) => Buffer;
  readonly spawnActor: SpawnActor;
  /** Fresh X25519 ephemerals (default `generateX25519KeyPair`); tests inject fixed ones. */
  readonly ephemeral?: () => X25519KeyPair;
  /** Called once per established session with its keys. */
  readonly onEstablished?: (session: EstablishedSession) => void;
  /**
   * Whether a session id already names a session or handshake elsewhere (a live session of either
   * role, our own offer in flight). Sids travel in clear, so another peer could copy one.
   */
  readonly isSidTaken?: (sid: string) => boolean;
  /** Most handshakes awaiting their confirm at once (default 1024). */
  readonly maxPending?: number;
  /** Most recently used session streams remembered (default 100 000). */
  readonly maxClaimedStreams?: number;
}

export type OfferAnswer =
  { readonly ok: true; readonly accept: HandshakeAccept } | HandshakeRejection;
export type ConfirmAnswer =
  { readonly ok: true; readonly done: HandshakeDone } | HandshakeRejection;

export interface HandshakeResponder {
  handleOffer(body: unknown): Promise<OfferAnswer>;
  handleConfirm(body: unknown): Promise<ConfirmAnswer>;
  /** Handshakes accepted and awaiting their confirm. */
  readonly pendingCount: number;
  /** Stop every pending handshake and wipe its keys. */
  close(): void;
}

type ResponderRef = ActorRefFrom<typeof handshakeResponderMachine>;

interface Pending {
  readonly actor: ResponderRef;
  readonly keys: HandshakeKeys;
}

/** The public wire facts of an offer that its event carries. */
function summaryOf(o: HandshakeOffer) {
  return {
    sid: o.sid,
    from: o.from,
    kind: o.kind,
    to: o.to,
    nonce: o.nonce,
    ts: o.ts,
    suites: o.suites,
  };
}

/**
 * Create the responder side of the handshake.
 *
 * @example
 * const responder = createHandshakeResponder({ identity, acceptedSuites: [...HANDSHAKE_SUITES],
 *   replayCache: createReplayCache({ freshnessMs: 60_000 }), pins, now: () => new Date(),
 *   random: randomBytes, spawnActor, onEstablished: (s) => sessions.open(s) });
 * const answer = await responder.handleOffer(req.body);
 */
export function createHandshakeResponder(deps: HandshakeResponderDeps): HandshakeResponder {
  const freshnessMs = deps.freshnessMs ?? DEFAULT_FRESHNESS_MS;
  const maxPending = deps.maxPending ?? 1024;
  const ephemeral = deps.ephemeral ?? generateX25519KeyPair;
  /** Keyed by sid: one live actor per `session:<peer>:<sid>` stream, never two. */
  const pending = new Map<string, Pending>();
  /** Streams that carried an accepted handshake, remembered as long as its offer could be fresh. */
  const claimed = createReplayCache({ freshnessMs, maxEntries: deps.maxClaimedStreams ?? 100_000 });

  function factsFor(offer: HandshakeOffer, nowMs: number): OfferFacts | 'full' {
    const { identityMatches, signatureValid } = checkOffer(offer);
    let isReplayed: boolean;
    if (identityMatches && signatureValid) {
      const added = deps.replayCache.add(offer.nonce, nowMs, nowMs);
      if (added === 'full') return 'full';
      isReplayed = added === 'present';
    } else {
      isReplayed = deps.replayCache.has(offer.nonce, nowMs);
    }
    return { isReplayed, identityMatches, signatureValid, pin: deps.pins.get(offer.from) };
  }

  function accept(offer: HandshakeOffer, actor: ResponderRef): OfferAnswer {
    const { suite, reason } = actor.getSnapshot().context;
    if (suite === null) return rejection(reason ?? 'unknown-suite', 'offer refused');
    const nonce = deps.random(32);
    const sak = deps.random(32);
    const rsaSecret = suite === 'rsaoaep-aes256gcm' ? deps.random(32) : undefined;
    let built: ReturnType<typeof buildAccept>;
    try {
      built = buildAccept({
        identity: deps.identity,
        offer,
        suite,
        ts: deps.now().getTime(),
        nonce,
        sak,
        ...(suite === 'x25519-aes256gcm' ? { eph: ephemeral() } : {}),
        ...(rsaSecret ? { rsaSecret } : {}),
      });
    } catch {
      // A low-order ephemeral or an unusable transport key inside a validly signed offer.
      actor.send({ type: 'accept.failed', reason: 'malformed', at: deps.now().toISOString() });
      return rejection('malformed', 'the offer carries an unusable key');
    } finally {
      wipe(sak);
      wipe(rsaSecret);
    }
    const { accept: message, keys } = built;
    const entry: Pending = { actor, keys };
    pending.set(offer.sid, entry);
    actor.send({
      type: 'accept.sent',
      keyId: keys.keyId,
      sas: keys.sas,
      ts: message.ts,
      nonce: toBase64Url(nonce),
      at: deps.now().toISOString(),
    });
    // Any end but success (timeout, bad confirm, stop): forget the handshake and wipe its keys.
    // On success `handleConfirm` hands the keys out, synchronously after this runs.
    const sub = actor.subscribe({
      next: (snap) => {
        if (snap.status === 'active') return;
        sub.unsubscribe();
        if (pending.get(offer.sid) === entry) pending.delete(offer.sid);
        if (snap.value !== 'established') wipeHandshakeKeys(entry.keys);
      },
    });
    return { ok: true, accept: message };
  }

  return {
    handleOffer(body) {
      const decoded = decodeOffer(body);
      if (!decoded.ok) return Promise.resolve(rejection('malformed', decoded.error.detail));
      const offer = decoded.value;
      const stream = sessionStream(offer.from, offer.sid);
      const now = deps.now();
      if (
        pending.has(offer.sid) ||
        claimed.has(stream, now.getTime()) ||
        // Our own offer (connecting to our own address) holds its sid too: the machine refuses
        // it as ours (`wrong-peer`), which says more than `replayed`.
        (offer.from !== deps.identity.fingerprint && deps.isSidTaken?.(offer.sid) === true)
      ) {
        // One handshake actor per stream, ever: a second offer for a stream that already carried
        // an accepted handshake is a replay (its nonce would say the same), refused before an
        // actor could interleave records with the first one's. A sid is also one session across
        // peers: sessions are found by sid alone on the wire (`/p2p/v1/session/:sid`), and any
        // peer on the LAN sees them, so another peer's offer under a sid in use must not take it.
        return Promise.resolve(rejection('replayed', 'this session id was already used'));
      }
      if (pending.size >= maxPending || !claimed.hasRoom(now.getTime())) {
        return Promise.resolve(rejection('overloaded', 'too many handshakes in progress'));
      }
      const facts = factsFor(offer, now.getTime());
      if (facts === 'full') {
        return Promise.resolve(rejection('overloaded', 'replay cache full; try again later'));
      }
      const actor = deps.spawnActor(handshakeResponderMachine, {
        stream,
        sid: offer.sid,
        selfPeerId: deps.identity.fingerprint,
        acceptedSuites: deps.acceptedSuites,
        freshnessMs,
        ...(deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs }),
      });
      actor.send({
        type: 'offer.received',
        offer: summaryOf(offer),
        receivedAt: now.toISOString(),
        facts,
      });
      const snap = actor.getSnapshot();
      if (snap.value !== 'accepting') {
        return Promise.resolve(rejection(snap.context.reason ?? 'malformed', 'offer refused'));
      }
      claimed.add(stream, now.getTime());
      return Promise.resolve(accept(offer, actor));
    },

    handleConfirm(body) {
      const decoded = decodeConfirm(body);
      if (!decoded.ok) return Promise.resolve(rejection('malformed', decoded.error.detail));
      const confirm = decoded.value;
      const entry = pending.get(confirm.sid);
      if (entry === undefined || entry.actor.getSnapshot().value !== 'awaitingConfirm') {
        return Promise.resolve(rejection('unknown-session', 'no handshake awaits this confirm'));
      }
      const at = deps.now().toISOString();
      const requester = entry.actor.getSnapshot().context.peerId;
      entry.actor.send({
        type: 'confirm.received',
        macValid: verifyConfirmMac(entry.keys, 'i', confirm.mac),
        // Read again: the pin may have become `blocked` since the offer was accepted.
        ...(requester === null ? {} : { pin: deps.pins.get(requester) }),
        at,
      });
      const snap = entry.actor.getSnapshot();
      if (snap.value !== 'established') {
        return Promise.resolve(rejection(snap.context.reason ?? 'bad-confirm', 'confirm refused'));
      }
      const { peerId, peerKind, suite } = snap.context;
      if (peerId === null || peerKind === null || suite === null) {
        throw new AppError('ERR_INTERNAL', 'established handshake without peer or suite');
      }
      pending.delete(confirm.sid);
      const done: HandshakeDone = {
        v: 1,
        type: 'hs.done',
        sid: confirm.sid,
        mac: toBase64Url(confirmMac(entry.keys, 'r')),
      };
      wipe(entry.keys.kConfirm);
      deps.onEstablished?.({
        sid: confirm.sid,
        peerId,
        peerKind,
        keyId: entry.keys.keyId,
        sas: entry.keys.sas,
        suite,
        role: 'responder',
        establishedAt: at,
        chains: chainsFor('responder', entry.keys.chains),
      });
      return Promise.resolve({ ok: true, done });
    },

    get pendingCount() {
      return pending.size;
    },

    close() {
      for (const entry of pending.values()) entry.actor.stop();
      for (const entry of pending.values()) wipeHandshakeKeys(entry.keys);
      pending.clear();
    },
  };
}
