/**
 * Sessions over real HTTP on loopback (perf-ceilings T4, T7): sealed requests per second over an
 * established session beside unsealed POSTs of the same size to the same express server, and
 * handshake latency p50/p99 over HTTP beside its floor measured in the same run (2 × the raw CPU
 * of one handshake side + 2 plain HTTP round trips). Client and server share this process.
 */
import { performance } from 'node:perf_hooks';
import express from 'express';
import { createActor } from 'xstate';
import type { SpawnActor } from '../src/actors/handshake/types.js';
import { createPeerSessions } from '../src/actors/peer-sessions.js';
import {
  generateIdentity,
  generateX25519KeyPair,
  hkdfSha256,
  Labels,
  sign,
  SignatureDomains,
  verify,
  x25519SharedSecret,
} from '../src/crypto/index.js';
import { listenHttp } from '../src/transport/http/http-server.js';
import { createPeerApi } from '../src/transport/http/peer-api.js';
import { peerRequest } from '../src/transport/http/peer-client.js';
import {
  measureAsync,
  measureSync,
  percentile,
  ratioRow,
  toRate,
  type BenchModule,
} from './lib.js';

const spawnActor: SpawnActor = (machine, input) => createActor(machine, { input }).start() as never;
const CONCURRENCY = 16;

const bench: BenchModule = {
  title:
    'peer HTTP: sealed session requests vs unsealed on the same express server; handshake latency (T4, T7)',
  async run(report) {
    const [ida, idb] = await Promise.all([
      generateIdentity('ed25519'),
      generateIdentity('ed25519'),
    ]);
    const deps = {
      spawnActor,
      pinState: () => 'none' as const,
      onEstablished: () => undefined,
      onSecurityAlert: () => undefined,
    };
    const a = createPeerSessions(
      { identity: ida, session: { rekeyAfterMessages: 1_000_000 } },
      deps,
    );
    const b = createPeerSessions(
      { identity: idb, session: { rekeyAfterMessages: 1_000_000 } },
      deps,
    );
    const outer = express();
    outer.post('/bench/echo', express.json(), (req, res) => {
      res.json({ status: 200, body: { pong: true, n: (req.body as { n?: number }).n ?? 0 } });
    });
    outer.use(
      createPeerApi({
        hello: () => ({
          v: 1,
          peerId: idb.fingerprint,
          name: 'b',
          identityKind: 'ed25519',
          publicKey: '',
          suites: [],
        }),
        handshake: b.handshakePort,
        session: b.sessionPort,
        handshakeRatePerSec: 1_000_000,
        onUnexpected: () => undefined,
      }),
    );
    const server = await listenHttp(outer, { host: '127.0.0.1', port: 0 });
    try {
      await a.connect({ url: server.url, expectedPeerId: idb.fingerprint });

      const unsealed = await measureAsync(
        () =>
          Promise.all(
            Array.from({ length: CONCURRENCY }, (_, n) =>
              peerRequest(server.url, 'POST', '/bench/echo', {
                method: 'POST',
                path: '/ping',
                body: { n },
              }),
            ),
          ),
        { opsPerCall: CONCURRENCY, windows: 5, windowMs: 500 },
      );
      const sealed = await measureAsync(
        () =>
          Promise.all(
            Array.from({ length: CONCURRENCY }, () =>
              a.request(idb.fingerprint, { method: 'POST', path: '/ping', body: {} }),
            ),
          ),
        { opsPerCall: CONCURRENCY, windows: 5, windowMs: 500 },
      );
      report(
        ratioRow(
          'peer-http',
          `sealed request round trips, c=${CONCURRENCY}`,
          sealed,
          { name: 'unsealed POST, same server', rate: unsealed },
          {
            minRatio: 0.7,
            note: 'client and server in one process; T7',
          },
        ),
      );

      // Handshake latency over HTTP vs its floor.
      const rtts: number[] = [];
      for (let i = 0; i < 200; i++) {
        const t = performance.now();
        await peerRequest(server.url, 'POST', '/bench/echo', { n: i });
        rtts.push(performance.now() - t);
      }
      const peerEph = generateX25519KeyPair();
      const fields = [Buffer.alloc(32, 1), Buffer.alloc(48, 2)];
      const sig = sign(idb.privateKey, SignatureDomains.handshakeResponse, fields);
      const side = measureSync(() => {
        const eph = generateX25519KeyPair();
        hkdfSha256(
          x25519SharedSecret(eph.privateKey, peerEph.publicKeyRaw),
          Buffer.alloc(32),
          Labels.handshake,
          64,
        );
        sign(ida.privateKey, SignatureDomains.handshakeResponse, fields);
        verify(idb.publicKey, SignatureDomains.handshakeResponse, fields, sig);
      });
      const floorMs = (2 * side.usPerOp) / 1000 + 2 * percentile(rtts, 50);
      const lat: number[] = [];
      for (let i = 0; i < 150; i++) {
        const t = performance.now();
        await a.connect({ url: server.url, expectedPeerId: idb.fingerprint });
        lat.push(performance.now() - t);
      }
      const p50 = percentile(lat, 50);
      const p99 = percentile(lat, 99);
      report({
        section: 'peer-http',
        name: 'handshake over HTTP, p50 latency',
        ours: toRate(1000 / p50),
        baseline: {
          name: `floor ${floorMs.toFixed(2)} ms (2×side CPU + 2 RTT)`,
          rate: toRate(1000 / floorMs),
        },
        ratio: floorMs / p50,
        target: 'p50 ≤ 2× floor (ratio ≥ 0.5)',
        met: p50 <= 2 * floorMs,
        note: `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (target p99 ≤ 5× floor: ${p99 <= 5 * floorMs ? 'met' : 'NOT met'})`,
      });
    } finally {
      a.close();
      b.close();
      await server.close(100);
    }
  },
};

export default bench;
