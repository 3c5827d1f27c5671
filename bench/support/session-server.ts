/**
 * The server side of `bench/peer-http.bench.ts`, in its own process (as a real peer would be): a
 * responder's PeerSessions behind the peer API, plus two unsealed echo routes on the same server
 * for the baselines — `/bench/echo` in the peer API's express app (behind its guards and body
 * parser), `/bench/raw` on the same node:http fast path the sealed route takes.
 * Prints `READY <url> <peerId>` and runs until killed.
 */
import { createActor } from 'xstate';
import type { SpawnActor } from '../../src/actors/handshake/types.js';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import { generateIdentity } from '../../src/crypto/index.js';
import { listenHttp } from '../../src/transport/http/http-server.js';
import { withFastRoutes } from '../../src/transport/http/fast-routes.js';
import { createPeerApi } from '../../src/transport/http/peer-api.js';

const spawnActor: SpawnActor = (machine, input) => createActor(machine, { input }).start() as never;
const id = await generateIdentity('ed25519');
const sessions = createPeerSessions(
  { identity: id, session: { rekeyAfterMessages: 1_000_000 } },
  {
    spawnActor,
    pinState: () => 'none',
    onEstablished: () => undefined,
    onSecurityAlert: () => undefined,
  },
);
const echo = (body: unknown): unknown => ({
  status: 200,
  body: { pong: true, n: (body as { n?: number } | undefined)?.n ?? 0 },
});
const api = createPeerApi({
  hello: () => ({
    v: 1,
    peerId: id.fingerprint,
    name: 'bench',
    identityKind: 'ed25519',
    publicKey: '',
    suites: [],
  }),
  handshake: sessions.handshakePort,
  session: sessions.sessionPort,
  handshakeRatePerSec: 1_000_000,
  onUnexpected: () => undefined,
  extraRoutes: (app) => app.post('/bench/echo', (req, res) => void res.json(echo(req.body))),
});
const handler = withFastRoutes(
  api,
  [{ path: '/bench/raw', run: (_p, body) => Promise.resolve({ ok: true, body: echo(body) }) }],
  { maxBodyBytes: 65_536, onUnexpected: () => undefined },
);
const server = await listenHttp(handler, { host: '127.0.0.1', port: 0 });
process.stdout.write(`READY ${server.url} ${id.fingerprint}\n`);
process.on('SIGTERM', () => {
  sessions.close();
  void server.close(100).then(() => process.exit(0));
});
