/**
 * The peer API of an in-process `PeerSessions` on loopback (real HTTP, and the real WebSocket link
 * server when asked), for tests that drive sessions without a whole peer.
 *
 * @example
 * const { url, close } = await serveSessions('a', identity, sessions, { links: true });
 */
import { createActor } from 'xstate';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import { exportPublicKey, generateIdentity, type Identity } from '../../src/crypto/index.js';
import type { PeerSessions } from '../../src/actors/peer-sessions.types.js';
import type { InnerPush } from '../../src/protocol/sealed.codec.js';
import { listenHttp } from '../../src/transport/http/http-server.js';
import { createPeerApi } from '../../src/transport/http/peer-api.js';
import { attachLinkServer } from '../../src/transport/ws/peer-link.js';

export async function serveSessions(
  name: string,
  identity: Identity,
  sessions: PeerSessions,
  options: { links?: boolean } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const api = await listenHttp(
    createPeerApi({
      hello: () => ({
        v: 1,
        peerId: identity.fingerprint,
        name,
        identityKind: identity.kind,
        publicKey: exportPublicKey(identity),
        suites: [],
      }),
      handshake: sessions.handshakePort,
      session: sessions.sessionPort,
      onUnexpected: (e) => {
        throw e;
      },
    }),
    { host: '127.0.0.1', port: 0 },
  );
  const links = options.links
    ? attachLinkServer(api.server, {
        hasSession: (sid) => sessions.hasSession(sid),
        onLink: (sid, link) => sessions.acceptLink(sid, link),
      })
    : undefined;
  return {
    url: api.url,
    async close() {
      links?.close();
      await api.close(100);
    },
  };
}

/**
 * A peer without push links, served on loopback, that records the pushes it gets: its stops go
 * into `stops` (run them in reverse after each test).
 *
 * @example
 * const a = await linklessPeer('a', stops);
 * await a.sessions.connect({ url: b.url, expectedPeerId: b.id });
 */
export async function linklessPeer(name: string, stops: Array<() => unknown>) {
  const identity = await generateIdentity('ed25519');
  const pushes: InnerPush[] = [];
  const sessions = createPeerSessions(
    { identity, links: false },
    {
      spawnActor: (machine, input) => createActor(machine, { input }).start() as never,
      pinState: () => 'none',
      onEstablished: () => undefined,
      onSecurityAlert: () => undefined,
      app: { push: (_from, inner) => void pushes.push(inner) },
    },
  );
  const api = await serveSessions(name, identity, sessions);
  stops.push(
    () => api.close(),
    () => sessions.close(),
  );
  return { id: identity.fingerprint, sessions, pushes, url: api.url };
}
