/**
 * Where `conclave log replay` and `conclave log export` read a stream from: a running peer (local
 * API, `GET /api/log`, paged), a store directly (`--store file:PATH`, e.g. a stopped peer), or an
 * exported trace file (`--from-file`).
 */
import { readFile, stat } from 'node:fs/promises';
import { AppError } from '../errors.js';
import { decodeTrace, type Trace } from '../protocol/trace.codec.js';
import type { RecordedEvent } from '../store/event-store.js';
import { openEventStore, parseStoreSpec } from '../store/open-event-store.js';
import { apiJson, resolveTarget } from './api-client.js';
import type { ClientOpts } from './client-options.js';

/** Events per request to the peer or the store. */
export const PAGE_SIZE = 5_000;

/** Largest trace file `--from-file` reads (a trace is replayed in memory). */
const MAX_TRACE_BYTES = 512 * 1024 * 1024;

export interface SourceOpts extends ClientOpts {
  store?: string;
}

/** Refuse a `file:` spec that names no log: opening it would create an empty one. */
async function assertLogExists(spec: string): Promise<void> {
  const parsed = parseStoreSpec(spec);
  if (parsed.kind !== 'file') return;
  const isDir = await stat(parsed.path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new AppError('ERR_NOT_FOUND', `no event log at ${parsed.path}`);
}

async function fromStore(
  spec: string,
  stream: string,
  onProgress: (n: number) => void,
): Promise<RecordedEvent[]> {
  await assertLogExists(spec);
  const store = await openEventStore(spec);
  try {
    const out: RecordedEvent[] = [];
    for (;;) {
      const last = out.at(-1)?.version ?? 0;
      const page = await store.readStream(stream, { afterVersion: last, limit: PAGE_SIZE });
      out.push(...page);
      onProgress(out.length);
      if (page.length < PAGE_SIZE) return out;
    }
  } finally {
    await store.close();
  }
}

/**
 * Every event of one stream, in version order, from a running peer or straight from a store.
 * `onProgress` hears the running count after each page.
 *
 * @example
 * const events = await readStreamEvents({ ...opts, store: 'file:/var/lib/conclave/log' }, 'trust');
 */
export async function readStreamEvents(
  o: SourceOpts,
  stream: string,
  onProgress: (n: number) => void = () => undefined,
): Promise<RecordedEvent[]> {
  if (o.store !== undefined) return fromStore(o.store, stream, onProgress);
  const target = await resolveTarget(o);
  const out: RecordedEvent[] = [];
  let after = 0;
  for (;;) {
    const q = new URLSearchParams({ stream, after: String(after), limit: String(PAGE_SIZE) });
    const page = await apiJson<{ entries: RecordedEvent[]; scannedTo: number }>(
      target,
      'GET',
      `/api/log?${q.toString()}`,
    );
    out.push(...page.entries);
    onProgress(out.length);
    if (page.scannedTo <= after) return out;
    after = page.scannedTo;
  }
}

/**
 * Every event of the whole log, grouped by stream (each in version order), from a running peer
 * or straight from a store.
 *
 * @example
 * for (const [stream, events] of await readAllStreams({ ...opts, store })) replayStream(stream, events);
 */
export async function readAllStreams(
  o: SourceOpts,
  onProgress: (n: number) => void = () => undefined,
): Promise<Map<string, RecordedEvent[]>> {
  const all: RecordedEvent[] = [];
  const page = await pager(o);
  try {
    for (;;) {
      const entries = await page.read(all.at(-1)?.position ?? 0);
      if (entries.length === 0) break;
      all.push(...entries);
      onProgress(all.length);
    }
  } finally {
    await page.close();
  }
  const byStream = new Map<string, RecordedEvent[]>();
  for (const e of all) {
    const list = byStream.get(e.stream);
    if (list) list.push(e);
    else byStream.set(e.stream, [e]);
  }
  return byStream;
}

interface Pager {
  /** Entries with `position > after`, in position order; empty at the end of the log. */
  read(after: number): Promise<RecordedEvent[]>;
  close(): Promise<void>;
}

/** Pages of the whole log in position order, from the store or the local API. */
async function pager(o: SourceOpts): Promise<Pager> {
  if (o.store !== undefined) {
    await assertLogExists(o.store);
    const store = await openEventStore(o.store);
    return {
      read: (after) => store.readAll({ after, limit: PAGE_SIZE }),
      close: () => store.close(),
    };
  }
  const target = await resolveTarget(o);
  return {
    async read(after) {
      const q = new URLSearchParams({ after: String(after), limit: String(PAGE_SIZE) });
      const r = await apiJson<{ entries: RecordedEvent[] }>(
        target,
        'GET',
        `/api/log?${q.toString()}`,
      );
      return r.entries;
    },
    close: () => Promise.resolve(),
  };
}

/**
 * Read and check an exported trace (`conclave log export`).
 *
 * @example
 * const { header, events } = await readTraceFile('session-3f9a.jsonl');
 */
export async function readTraceFile(path: string): Promise<Trace> {
  const size = await stat(path).then(
    (s) => s.size,
    () => -1,
  );
  if (size < 0) throw new AppError('ERR_NOT_FOUND', `no such trace file: ${path}`);
  if (size > MAX_TRACE_BYTES)
    throw new AppError('ERR_INVALID_ARGUMENT', `${path} is larger than a trace may be (512 MiB)`);
  const r = decodeTrace(await readFile(path, 'utf8'));
  if (!r.ok) {
    throw new AppError(
      'ERR_INVALID_ARGUMENT',
      `${path}:${r.error.line}: ${r.error.detail} [${r.error.reason}]`,
    );
  }
  return r.value;
}
