/**
 * The peer API of an in-process `PeerSessions` on loopback (real HTTP, and the real WebSocket link
 * server when asked), for tests that drive sessions without a whole peer.
 *
 * @example
 * const { url, close } = await serveSessions('a', identity, sessions, { links: true });
 */
import { exportPublicKey, type Identity } from '../../src/crypto/index.js';
import type { PeerSessions } from '../../src/actors/peer-sessions.types.js';
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
