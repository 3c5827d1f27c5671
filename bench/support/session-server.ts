/**
 * The server side of `bench/peer-http.bench.ts`, in its own process (as a real peer would be): a
 * responder's PeerSessions behind the peer API, plus an unsealed echo route on the same express
 * server for the baseline. Prints `READY <url> <peerId>` and runs until killed.
 */
import express from 'express';
import { createActor } from 'xstate';
import type { SpawnActor } from '../../src/actors/handshake/types.js';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import { generateIdentity } from '../../src/crypto/index.js';
import { listenHttp } from '../../src/transport/http/http-server.js';
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
const app = express();
app.post('/bench/echo', express.json(), (req, res) => {
  res.json({ status: 200, body: { pong: true, n: (req.body as { n?: number }).n ?? 0 } });
});
app.use(
  createPeerApi({
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
  }),
);
const server = await listenHttp(app, { host: '127.0.0.1', port: 0 });
process.stdout.write(`READY ${server.url} ${id.fingerprint}\n`);
process.on('SIGTERM', () => {
  sessions.close();
  void server.close(100).then(() => process.exit(0));
});
