/**
 * Wires sessions into a serving peer: the RSA transport key (RSA identities), the handshake
 * replay cache seeded from the log, pinning on first contact, and the `connect`/`ping` services
 * the local API hands to the runtime.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { resolvePeerId } from '../actors/peer-directory.js';
import type { PeerRuntime, RuntimeServices } from '../actors/peer-runtime.js';
import { createPeerSessions } from '../actors/peer-sessions.js';
import { atEachAddress } from '../actors/peer-connect.js';
import type { ConnectResult, PeerSessions } from '../actors/peer-sessions.types.js';
import type { AppHandlers } from '../actors/session-delivery.js';
import { formatFingerprint, generateRsaOaepKeyPair, type Identity } from '../crypto/index.js';
import { AppError } from '../errors.js';
import type { Keystore } from '../keystore/keystore.js';
import type { EventStore } from '../store/event-store.js';

const RSA_TRANSPORT_SECRET = 'rsa-transport';

/** The long-term RSA-OAEP key an RSA peer receives session secrets under (protocol §2). */
async function loadOrCreateRsaTransportKey(
  keystore: Keystore,
): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  const stored = await keystore.getSecret(RSA_TRANSPORT_SECRET);
  if (stored) {
    const privateKey = createPrivateKey({ key: stored, format: 'der', type: 'pkcs8' });
    stored.fill(0);
    return { privateKey, publicKey: createPublicKey(privateKey) };
  }
  const pair = await generateRsaOaepKeyPair();
  const der = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
  await keystore.putSecret(RSA_TRANSPORT_SECRET, der);
  der.fill(0);
  return pair;
}

export async function startSessions(deps: {
  identity: Identity;
  keystore: Keystore;
  runtime: PeerRuntime;
  store: EventStore;
  logger: Logger;
  rekeyAfterMessages?: number | undefined;
  /** Open WebSocket push links (off: peers poll). */
  links?: boolean;
  /** The application's handlers for sealed requests and pushes (rooms), bound late. */
  app?: AppHandlers;
  /** A session came up (either role). */
  onSession?: (peerId: string) => void;
}): Promise<{ sessions: PeerSessions; services: RuntimeServices }> {
  const { identity, runtime, logger } = deps;
  const rsaTransportKey =
    identity.kind === 'rsa' ? await loadOrCreateRsaTransportKey(deps.keystore) : undefined;
  const sessions = createPeerSessions(
    {
      identity,
      ...(rsaTransportKey ? { rsaTransportKey } : {}),
      ...(deps.rekeyAfterMessages !== undefined
        ? { session: { rekeyAfterMessages: deps.rekeyAfterMessages } }
        : {}),
      ...(deps.links === false ? { links: false } : {}),
    },
    {
      spawnActor: runtime.spawnActor,
      pinState: (peerId) => runtime.pins()[peerId]?.state ?? 'none',
      locate: (peerId) => runtime.knownPeers().find((p) => p.peerId === peerId)?.urls ?? [],
      ...(deps.app ? { app: deps.app } : {}),
      onEstablished: (s, { url }) => {
        const known = runtime.knownPeers().find((p) => p.peerId === s.peerId);
        runtime.trust({
          type: 'pin.seen',
          peerId: s.peerId,
          kind: s.peerKind,
          name: known?.name ?? null,
          at: s.establishedAt,
        });
        runtime.hub.publish('peer', {
          change: 'session',
          peerId: s.peerId,
          sessionId: s.sid,
          role: s.role,
          suite: s.suite,
          sas: s.sas,
          url,
        });
        logger.info(
          { peerId: s.peerId, sid: s.sid, role: s.role, suite: s.suite },
          'session established',
        );
        deps.onSession?.(s.peerId);
      },
      onSecurityAlert: (kind, peerId, detail) => {
        logger.warn({ kind, peerId }, 'security alert');
        runtime.alert(kind, peerId, detail);
      },
    },
  );
  // A replayed offer must stay refused across a restart: the nonces are in the recorded events.
  const seeded = sessions.seedReplayCache(await deps.store.readAll({ streamPrefix: 'session:' }));
  if (seeded > 0) logger.debug({ seeded }, 'handshake replay cache seeded from the log');

  // `conclave block`: the sessions the peer already holds end now (its requests, link and polls
  // with them); the pin alone only refuses its next handshake.
  runtime.events.on('trust:changed', (pin) => {
    if (pin.state !== 'blocked') return;
    const closed = sessions.closePeer(pin.peerId, 'blocked');
    if (closed > 0)
      logger.info({ peerId: pin.peerId, closed }, 'sessions with a blocked peer closed');
  });

  /**
   * Handshake at each of a peer's addresses in turn, as `usable` does: a multi-homed peer may be
   * reachable at only some of them, and a stale one may now answer with another identity. That
   * `key-changed` is still what we report when no address works.
   */
  const connectAny = (
    urls: readonly string[],
    expectedPeerId: string | null,
    suites: Parameters<PeerSessions['connect']>[0]['suites'],
  ): Promise<ConnectResult> =>
    atEachAddress(urls, (url) =>
      sessions.connect({ url, expectedPeerId, ...(suites ? { suites } : {}) }),
    );

  const services: RuntimeServices = {
    async connect(r) {
      let urls: readonly string[] = r.url === undefined ? [] : [r.url];
      let expectedPeerId: string | null = null;
      if (r.url === undefined) {
        const known = runtime.knownPeers();
        const peerId = resolvePeerId(
          r.peerId ?? '',
          known.map((p) => p.peerId),
        );
        expectedPeerId = peerId;
        urls = known.find((p) => p.peerId === peerId)?.urls ?? [];
        if (urls.length === 0) {
          throw new AppError(
            'ERR_NOT_FOUND',
            `no address known for ${peerId.slice(0, 12)}; connect by URL instead`,
          );
        }
      }
      const c = await connectAny(urls, expectedPeerId, r.suites);
      const pin = runtime.pins()[c.peerId];
      return {
        peerId: c.peerId,
        sessionId: c.sessionId,
        fingerprint: formatFingerprint(c.peerId),
        sas: c.sas,
        suite: c.suite,
        keyId: c.keyId,
        link: c.link,
        trust: pin?.state ?? null,
        name: pin?.name ?? null,
      };
    },
    async ping(r) {
      const known = [...runtime.knownPeers().map((p) => p.peerId), ...Object.keys(runtime.pins())];
      return sessions.ping(resolvePeerId(r.peerId, known), r.via);
    },
  };
  return { sessions, services };
}
