/**
 * Where `conclave log replay` and `conclave log export` read a stream from: a running peer (local
 * API, `GET /api/log`, paged), a store directly (`--store file:PATH`, e.g. a stopped peer), or an
 * exported trace file (`--from-file`). Also the notice every `conclave log` command gives when a
 * peer's bounded memory log (`serve --log-retain`) no longer holds the start of the range.
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

/** A page of `GET /api/log`. */
export interface LogPage {
  readonly entries: RecordedEvent[];
  readonly scannedTo: number;
  /** Set (with `firstPosition`) when the range asked for starts before the oldest held event. */
  readonly dropped?: boolean;
  readonly firstPosition?: number;
  /** The peer's `--log-retain` budget in bytes, when it has one. */
  readonly retainBytes?: number;
}

/** The start of a range that a peer's bounded memory log no longer holds. */
export interface DroppedRange {
  /** Position of the oldest event the peer still holds. */
  readonly firstPosition: number;
  readonly retainBytes?: number;
}

/** What a page says was dropped, if anything. */
export function droppedRangeOf(page: LogPage): DroppedRange | undefined {
  if (page.dropped !== true || typeof page.firstPosition !== 'number') return undefined;
  return {
    firstPosition: page.firstPosition,
    ...(typeof page.retainBytes === 'number' ? { retainBytes: page.retainBytes } : {}),
  };
}

function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Number((bytes / (1024 * 1024)).toFixed(1))} MiB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KiB`;
  return `${bytes} bytes`;
}

/**
 * The one-line notice for a dropped range.
 *
 * @example
 * droppedNotice({ firstPosition: 812, retainBytes: 32 * 1024 * 1024 });
 * // 'events before position 812 were dropped: the volatile log keeps the newest 32 MiB (conclave serve --log-retain)'
 */
export function droppedNotice(d: DroppedRange): string {
  const kept =
    d.retainBytes !== undefined ? `the newest ${formatSize(d.retainBytes)}` : 'the newest events';
  return `events before position ${d.firstPosition} were dropped: the volatile log keeps ${kept} (conclave serve --log-retain)`;
}

/**
 * Tell the user on stderr (stdout stays the entries): the notice as a line of text, or with
 * `--json` as one JSON object `{dropped: true, firstPosition, retainBytes?, notice}`.
 */
export function reportDropped(d: DroppedRange, isJson: boolean): void {
  const notice = droppedNotice(d);
  process.stderr.write(
    isJson ? `${JSON.stringify({ dropped: true, ...d, notice })}\n` : `${notice}\n`,
  );
}

const reportDroppedText = (d: DroppedRange): void => reportDropped(d, false);

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
 * `onProgress` hears the running count after each page; `onDropped` (default: a notice on stderr)
 * hears when the peer's bounded memory log no longer holds the stream's first events.
 *
 * @example
 * const events = await readStreamEvents({ ...opts, store: 'file:/var/lib/conclave/log' }, 'trust');
 */
export async function readStreamEvents(
  o: SourceOpts,
  stream: string,
  onProgress: (n: number) => void = () => undefined,
  onDropped: (d: DroppedRange) => void = reportDroppedText,
): Promise<RecordedEvent[]> {
  if (o.store !== undefined) return fromStore(o.store, stream, onProgress);
  const target = await resolveTarget(o);
  const out: RecordedEvent[] = [];
  let after = 0;
  for (;;) {
    const q = new URLSearchParams({ stream, after: String(after), limit: String(PAGE_SIZE) });
    const page = await apiJson<LogPage>(target, 'GET', `/api/log?${q.toString()}`);
    const dropped = after === 0 ? droppedRangeOf(page) : undefined;
    // Only worth saying when this stream lost events (its first held one is not version 1).
    if (dropped && page.entries[0]?.version !== 1) onDropped(dropped);
    out.push(...page.entries);
    onProgress(out.length);
    if (page.scannedTo <= after) return out;
    after = page.scannedTo;
  }
}

/**
 * Every event of the whole log, grouped by stream (each in version order), from a running peer
 * or straight from a store. `onDropped` (default: a notice on stderr) hears when the peer's
 * bounded memory log no longer holds the start of the log.
 *
 * @example
 * for (const [stream, events] of await readAllStreams({ ...opts, store })) replayStream(stream, events);
 */
export async function readAllStreams(
  o: SourceOpts,
  onProgress: (n: number) => void = () => undefined,
  onDropped: (d: DroppedRange) => void = reportDroppedText,
): Promise<Map<string, RecordedEvent[]>> {
  const all: RecordedEvent[] = [];
  const page = await pager(o, onDropped);
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
async function pager(o: SourceOpts, onDropped: (d: DroppedRange) => void): Promise<Pager> {
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
      const r = await apiJson<LogPage>(target, 'GET', `/api/log?${q.toString()}`);
      const dropped = after === 0 ? droppedRangeOf(r) : undefined;
      if (dropped) onDropped(dropped);
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
