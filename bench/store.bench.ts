/**
 * Event-store append throughput (`perf-ceilings.md` §5 T5), each beside a baseline measured in the
 * same run:
 * - memory store, single-event appends awaited 256 at a time, vs `JSON.stringify` + `push` of the
 *   same event (the "plain append" ceiling); target ≥ 250 k appends/s;
 * - file store, 256 single-event appends in flight, vs writing the same record bytes with one
 *   `writeSync` + `fsyncSync` per batch of 256; target ≥ 30 k appends/s.
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchModule } from './lib.js';
import { measureAsync, measureSync, ratioRow } from './lib.js';
import type { EventStore, NewEvent } from '../src/store/event-store.js';
import { freezeEvents } from '../src/store/event-data.js';
import { createFileEventStore } from '../src/store/file-event-store.js';
import { encodeRecord, GENESIS_HASH } from '../src/store/file-record.js';
import { recordEvents } from '../src/store/log-index.js';
import { createMemoryEventStore } from '../src/store/memory-event-store.js';

const IN_FLIGHT = 256;
const STREAMS = Array.from({ length: 64 }, (_, i) => `room:r${i}`);
/** A ~200 B event of the kind the runtime records (ciphertext as base64, ids, state values). */
const EVENT: NewEvent = {
  type: 'MessagePosted',
  data: { roomId: 'r-1f2e3d', messageId: 'm-000142', epoch: 3, ciphertext: 'q'.repeat(48) },
  meta: {
    recordedAt: '2026-01-01T00:00:00.000Z',
    machine: 'room',
    machineVersion: 1,
    from: 'joined',
    to: 'joined',
  },
};
/** Start a fresh memory store past this many events so the heap stays bounded. */
const RECYCLE_AT = 200_000;

async function appendBatch(store: EventStore): Promise<void> {
  const ps: Array<Promise<unknown>> = new Array<Promise<unknown>>(IN_FLIGHT);
  for (let i = 0; i < IN_FLIGHT; i++)
    ps[i] = store.append(STREAMS[i % STREAMS.length] as string, [EVENT]);
  await Promise.all(ps);
}

async function memoryRows(report: Parameters<BenchModule['run']>[0]): Promise<void> {
  const sink: string[] = [];
  const baseline = measureSync(() => {
    sink.push(JSON.stringify(EVENT));
    if (sink.length >= RECYCLE_AT) sink.length = 0;
  });
  let store = createMemoryEventStore();
  let appended = 0;
  const ours = await measureAsync(
    async () => {
      if (appended >= RECYCLE_AT) {
        await store.close();
        store = createMemoryEventStore();
        appended = 0;
      }
      await appendBatch(store);
      appended += IN_FLIGHT;
    },
    { opsPerCall: IN_FLIGHT },
  );
  await store.close();
  report(
    ratioRow(
      'store',
      `memory append, 1 event × ${IN_FLIGHT} in flight`,
      ours,
      { name: 'JSON.stringify + array push', rate: baseline },
      {
        minOpsPerSec: 250_000,
        note: `event ${Buffer.byteLength(JSON.stringify(EVENT))} B JSON; validation + deep-frozen copy, no hashing`,
      },
    ),
  );
}

async function fileRows(report: Parameters<BenchModule['run']>[0]): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'conclave-bench-store-'));
  try {
    // Baseline: the bytes of one record of IN_FLIGHT events, one write + fsync per batch.
    const frozen = freezeEvents(
      'room:r0',
      Array.from({ length: IN_FLIGHT }, () => EVENT),
    );
    const record = encodeRecord(
      GENESIS_HASH,
      1,
      IN_FLIGHT,
      JSON.stringify(recordEvents('room:r0', 1, 1, frozen)),
    );
    const fd = openSync(join(root, 'raw.jsonl'), 'a', 0o600);
    const baseline = measureSync(
      () => {
        writeSync(fd, record.bytes);
        fsyncSync(fd);
      },
      { opsPerCall: IN_FLIGHT, windowMs: 500, windows: 3 },
    );
    closeSync(fd);

    const store = await createFileEventStore(join(root, 'log'));
    const before = store.batchesWritten;
    let appends = 0;
    const ours = await measureAsync(
      async () => {
        await appendBatch(store);
        appends += IN_FLIGHT;
      },
      { opsPerCall: IN_FLIGHT, windowMs: 500, windows: 3 },
    );
    const batches = store.batchesWritten - before;
    await store.close();
    const fsyncsPerAppend = (2 * batches) / appends;
    report(
      ratioRow(
        'store',
        `file append, 1 event × ${IN_FLIGHT} in flight (group commit)`,
        ours,
        {
          name: `writeSync + fsyncSync of the same ${record.bytes.length} B per ${IN_FLIGHT} events`,
          rate: baseline,
        },
        {
          minOpsPerSec: 30_000,
          note:
            `${batches} batches for ${appends} appends: ${fsyncsPerAppend.toFixed(4)} fsyncs per append ` +
            `(per batch: 1 fdatasync of the log + 1 fsync of the head temp file, then a rename; ` +
            `one SHA-256 per batch)`,
        },
      ),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const bench: BenchModule = {
  title: 'event store appends',
  async run(report) {
    await memoryRows(report);
    await fileRows(report);
  },
};

export default bench;
