/**
 * Live inspection overhead (`serve --inspect`): events per second through a peer runtime's actors
 * with inspection off (the recorder alone, as in production) against inspection on with one reader
 * subscribed that serializes every record, as the SSE route does. Measured in the same run,
 * interleaved; the target is on ≥ 0.8× off.
 *
 * Three workloads, from the realistic to the worst case:
 * - sealed pings between two in-process peers over loopback HTTP (handshake once, then sealed
 *   request round trips): what traffic costs, since per-message work stays out of the machines;
 * - session events (`activity` reports into a session actor started with the runtime's
 *   `spawnActor`), each recorded to the event log, flushed every batch: every event is a machine
 *   transition, so inspection converts and serializes two records per event;
 * - peer-actor queries (`info.query`, answered but not recorded): the recorder's cheapest path,
 *   so inspection's share is largest there.
 */
import { createPeerRuntime, type PeerRuntime } from '../src/actors/peer-runtime.js';
import { createPeerSessions } from '../src/actors/peer-sessions.js';
import type { PeerSessions } from '../src/actors/peer-sessions.types.js';
import { exportPublicKey, generateIdentity } from '../src/crypto/index.js';
import { listenHttp, type HttpListener } from '../src/transport/http/http-server.js';
import { createPeerApi } from '../src/transport/http/peer-api.js';
import { sessionMachine } from '../src/machines/session.machine.js';
import { createMemoryEventStore } from '../src/store/memory-event-store.js';
import { measureAsync, measureSync, ratioRow, type BenchModule, type Rate } from './lib.js';

const BATCH = 256;

interface Side {
  readonly runtime: PeerRuntime;
  readonly sessionEvents: () => Promise<void>;
  readonly query: () => void;
  /** Bytes the reader serialized (on only), so the work cannot be optimised away. */
  readonly bytes: () => number;
}

function side(isInspecting: boolean): Side {
  const runtime = createPeerRuntime(
    {
      peerId: isInspecting ? 'bench-on' : 'bench-off',
      name: 'bench',
      fingerprint: 'bench',
      identityKind: 'ed25519',
      store: 'memory',
      version: '0.1.0',
      isInspecting,
    },
    { store: createMemoryEventStore() },
  );
  let bytes = 0;
  runtime.inspection?.events$().subscribe((record) => {
    bytes += JSON.stringify(record).length;
  });
  runtime.start();
  runtime.listening('http://127.0.0.1:1', 'http://127.0.0.1:2');
  const session = runtime.spawnActor(sessionMachine, {
    stream: `session:bench:${isInspecting ? 'on' : 'off'}`,
    sid: 'bench-session-0001',
    peerId: 'b'.repeat(64),
    role: 'requester',
    keyId: '0123456789abcdef',
    suite: 'x25519-aes256gcm',
    startedAt: new Date().toISOString(),
    idleTimeoutMs: 3_600_000,
    rekeyAfterMessages: 1_000_000,
    rekeyAfterMs: 3_600_000,
    rekeyTimeoutMs: 30_000,
  });
  let requests = 0;
  return {
    runtime,
    async sessionEvents() {
      for (let i = 0; i < BATCH; i++) {
        requests += 1;
        session.send({
          type: 'activity',
          epoch: 0,
          epochMessages: requests % 1000,
          requestCount: requests,
          at: new Date().toISOString(),
        });
      }
      await runtime.writer.flush();
    },
    query: () => runtime.info(),
    bytes: () => bytes,
  };
}

interface PingPeer {
  readonly runtime: PeerRuntime;
  readonly sessions: PeerSessions;
  readonly api: HttpListener;
  readonly peerId: string;
}

/** A peer runtime with sessions behind a peer API on loopback (no link: pings are requests). */
async function pingPeer(isInspecting: boolean, reader: (n: number) => void): Promise<PingPeer> {
  const identity = await generateIdentity('ed25519');
  const runtime = createPeerRuntime(
    {
      peerId: identity.fingerprint,
      name: 'ping',
      fingerprint: identity.fingerprint,
      identityKind: 'ed25519',
      store: 'memory',
      version: '0.1.0',
      isInspecting,
    },
    { store: createMemoryEventStore() },
  );
  runtime.inspection?.events$().subscribe((record) => reader(JSON.stringify(record).length));
  runtime.start();
  const sessions = createPeerSessions(
    { identity, session: { rekeyAfterMessages: 1_000_000 } },
    {
      spawnActor: runtime.spawnActor,
      pinState: () => 'none',
      onEstablished: () => undefined,
      onSecurityAlert: () => undefined,
    },
  );
  const hello = {
    v: 1 as const,
    peerId: identity.fingerprint,
    name: 'ping',
    identityKind: 'ed25519' as const,
    publicKey: exportPublicKey(identity),
    suites: [],
  };
  const api = await listenHttp(
    createPeerApi({
      hello: () => hello,
      handshake: sessions.handshakePort,
      session: sessions.sessionPort,
      onUnexpected: () => undefined,
    }),
    { host: '127.0.0.1', port: 0 },
  );
  return { runtime, sessions, api, peerId: identity.fingerprint };
}

/** Sealed request pings from one peer to another, both with inspection on or both off. */
async function pings(
  isInspecting: boolean,
): Promise<{ ping: () => Promise<unknown>; close: () => Promise<void> }> {
  let bytes = 0;
  const a = await pingPeer(isInspecting, (n) => (bytes += n));
  const b = await pingPeer(isInspecting, (n) => (bytes += n));
  await a.sessions.connect({ url: b.api.url, expectedPeerId: b.peerId });
  return {
    ping: () => a.sessions.ping(b.peerId, 'request'),
    async close() {
      for (const p of [a, b]) {
        p.sessions.close();
        await p.api.close(100);
        await p.runtime.stop('bench');
      }
      void bytes;
    },
  };
}

function best(rates: readonly Rate[]): Rate {
  return rates.reduce((x, y) => (x.opsPerSec >= y.opsPerSec ? x : y));
}

/** Off and on, interleaved three times, keeping the best of each (less drift on a busy box). */
async function interleaved(
  off: () => Promise<Rate>,
  on: () => Promise<Rate>,
): Promise<{ off: Rate; on: Rate }> {
  const offs: Rate[] = [];
  const ons: Rate[] = [];
  for (let round = 0; round < 3; round++) {
    offs.push(await off());
    ons.push(await on());
  }
  return { off: best(offs), on: best(ons) };
}

const bench: BenchModule = {
  title: 'inspection: actor events/s with --inspect on (one reader) vs off',
  async run(report) {
    const pingOff = await pings(false);
    const pingOn = await pings(true);
    const round = await interleaved(
      () => measureAsync(pingOff.ping),
      () => measureAsync(pingOn.ping),
    );
    report(
      ratioRow(
        'inspection',
        'sealed pings over loopback HTTP, inspection on',
        round.on,
        { name: 'inspection off', rate: round.off },
        { minRatio: 0.8, note: 'two in-process peers; one reader on each' },
      ),
    );
    await Promise.all([pingOff.close(), pingOn.close()]);
    const off = side(false);
    const on = side(true);
    const options = { opsPerCall: BATCH, windows: 5 };
    const events = await interleaved(
      () => measureAsync(off.sessionEvents, options),
      () => measureAsync(on.sessionEvents, options),
    );
    report(
      ratioRow(
        'inspection',
        'session events (recorded), inspection on',
        events.on,
        { name: 'inspection off', rate: events.off },
        { minRatio: 0.8, note: 'one reader serializing every record (as SSE does)' },
      ),
    );
    const queries = await interleaved(
      () => Promise.resolve(measureSync(off.query)),
      () => Promise.resolve(measureSync(on.query)),
    );
    report(
      ratioRow(
        'inspection',
        'peer info queries (not recorded), inspection on',
        queries.on,
        { name: 'inspection off', rate: queries.off },
        { minRatio: 0.8, note: `reader serialized ${(on.bytes() / 1e6).toFixed(0)} MB in all` },
      ),
    );
    await Promise.all([off.runtime.stop('bench'), on.runtime.stop('bench')]);
  },
};

export default bench;
