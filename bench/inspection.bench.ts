/**
 * Live inspection overhead (`serve --inspect`): events per second through a peer runtime's actors
 * with inspection off (the recorder alone, as in production) against inspection on with one reader
 * subscribed that serializes every record, as the SSE route does. Measured in the same run,
 * interleaved; the target is on ≥ 0.8× off.
 *
 * Two workloads: session events (`activity` reports into a session actor started with the runtime's
 * `spawnActor`, each one recorded to the event log, flushed every batch) and peer-actor queries
 * (`info.query`, answered but not recorded: the recorder's cheapest path, so inspection's share
 * is largest there).
 */
import { createPeerRuntime, type PeerRuntime } from '../src/actors/peer-runtime.js';
import { sessionMachine } from '../src/machines/session.machine.js';
import { createMemoryEventStore } from '../src/store/memory-event-store.js';
import {
  measureAsync,
  measureSync,
  ratioRow,
  type BenchModule,
  type Rate,
} from './lib.js';

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
