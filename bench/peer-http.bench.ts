/**
 * Sessions over real HTTP on loopback (perf-ceilings T4, T7): sealed requests per second over an
 * established session beside unsealed POSTs of the same size to the same express server, and
 * handshake latency p50/p99 over HTTP beside its floor measured in the same run (2 × the raw CPU
 * of one handshake side + 2 plain HTTP round trips). The responder runs in a child process.
 */
import { performance } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
    const ida = await generateIdentity('ed25519');
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
    // The responder runs in its own process, as a real peer would: each side pays its own crypto.
    const child = spawn(
      process.execPath,
      [
        // PEER_HTTP_PROF=DIR: the server writes a CPU profile there (the bench: run it with --cpu-prof)
        ...(process.env.PEER_HTTP_PROF
          ? ['--cpu-prof', '--cpu-prof-dir', process.env.PEER_HTTP_PROF]
          : []),
        '--import',
        'tsx',
        fileURLToPath(new URL('./support/session-server.ts', import.meta.url)),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const [url, peerIdB] = await new Promise<[string, string]>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /^READY (\S+) (\S+)$/m.exec(out);
        if (m?.[1] && m[2]) resolve([m[1], m[2]]);
      });
      child.once('exit', (code) => reject(new Error(`bench server exited with ${String(code)}`)));
    });
    const server = { url };
    const idb = { fingerprint: peerIdB };
    try {
      await a.connect({ url: server.url, expectedPeerId: idb.fingerprint });

      // CONCURRENCY requests at once, the next burst when all are answered; the same inner
      // request sealed and unsealed.
      const burst = (one: (n: number) => Promise<unknown>) => () =>
        Promise.all(Array.from({ length: CONCURRENCY }, (_, n) => one(n)));
      const inner = (n: number) => ({ method: 'POST' as const, path: '/ping', body: { n } });
      const plainTo = (path: string) =>
        burst((n) => peerRequest(server.url, 'POST', path, inner(n)));
      const window = { opsPerCall: CONCURRENCY, windows: 5, windowMs: 500 };
      const unsealed = await measureAsync(plainTo('/bench/echo'), window);
      const plain = await measureAsync(plainTo('/bench/raw'), window);
      const sealed = await measureAsync(
        burst((n) => a.request(idb.fingerprint, inner(n))),
        window,
      );
      report(
        ratioRow(
          'peer-http',
          `sealed request round trips, c=${CONCURRENCY}`,
          sealed,
          { name: 'unsealed POST, same server (express)', rate: unsealed },
          {
            minRatio: 0.7,
            note: 'server in its own process; T7 — sealed requests take the peer API fast path (node:http), the unsealed baseline its express app',
          },
        ),
      );
      report(
        ratioRow(
          'peer-http',
          `sealed vs unsealed on the same fast path, c=${CONCURRENCY}`,
          sealed,
          { name: 'unsealed POST, node:http fast path', rate: plain },
          { note: 'informational: what sealing costs once express is out of both' },
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
      const idSigner = await generateIdentity('ed25519');
      const sig = sign(idSigner.privateKey, SignatureDomains.handshakeResponse, fields);
      const side = measureSync(() => {
        const eph = generateX25519KeyPair();
        hkdfSha256(
          x25519SharedSecret(eph.privateKey, peerEph.publicKeyRaw),
          Buffer.alloc(32),
          Labels.handshake,
          64,
        );
        sign(ida.privateKey, SignatureDomains.handshakeResponse, fields);
        verify(idSigner.publicKey, SignatureDomains.handshakeResponse, fields, sig);
      });
      const floorMs = (2 * side.usPerOp) / 1000 + 2 * percentile(rtts, 50);
      // The handshake alone (two HTTP round trips), as the floor counts it: a requester without
      // push links. `connect` on a peer with links also opens the WebSocket link (another TCP
      // connection, an upgrade and a sealed link.hello), reported beside it.
      const hsOnly = createPeerSessions(
        { identity: ida, session: { rekeyAfterMessages: 1_000_000 }, links: false },
        deps,
      );
      const timeConnects = async (s: typeof a, n: number): Promise<number[]> => {
        const out: number[] = [];
        for (let i = 0; i < n; i++) {
          const t = performance.now();
          await s.connect({ url: server.url, expectedPeerId: idb.fingerprint });
          out.push(performance.now() - t);
        }
        return out;
      };
      let lat: number[];
      let withLink: number[];
      try {
        await timeConnects(hsOnly, 10); // warm-up
        lat = await timeConnects(hsOnly, 150);
        withLink = await timeConnects(a, 100);
      } finally {
        hsOnly.close();
      }
      const p50 = percentile(lat, 50);
      const p99 = percentile(lat, 99);
      // T4: p50 within 2 × the floor, p99 within 5 ×.
      for (const [q, ms, times] of [
        ['p50', p50, 2],
        ['p99', p99, 5],
      ] as const) {
        report({
          section: 'peer-http',
          name: `handshake over HTTP, ${q} latency`,
          ours: toRate(1000 / ms),
          baseline: {
            name: `floor ${floorMs.toFixed(2)} ms (2×side CPU + 2 RTT)`,
            rate: toRate(1000 / floorMs),
          },
          ratio: floorMs / ms,
          target: `${q} ≤ ${times}× floor (ratio ≥ ${1 / times})`,
          met: ms <= times * floorMs,
          note: `${q} ${ms.toFixed(2)} ms`,
        });
      }
      report({
        section: 'peer-http',
        name: 'connect with the push link (handshake + WebSocket link)',
        ours: toRate(1000 / percentile(withLink, 50)),
        note: `p50 ${percentile(withLink, 50).toFixed(2)} ms, p99 ${percentile(withLink, 99).toFixed(2)} ms (informational: no target)`,
      });
    } finally {
      a.close();
      child.kill('SIGTERM');
    }
  },
};

export default bench;
