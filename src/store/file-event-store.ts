/**
 * The embedded durable store (`file:PATH`): an append-only, hash-chained JSON-lines log in a
 * directory the store owns, verified completely at open, written with group commit.
 *
 * - **Durability.** An `append` resolves only after its batch is written, fdatasync'd, and the
 *   head file is replaced atomically. Appends from the same macrotask, or made while a batch is
 *   being written, share one record, one write, one fdatasync and one head update.
 * - **Visibility.** Reads and subscribers see an event only once it is durable. The version check of
 *   `append` also counts appends still in flight, so two appends racing for one version cannot both
 *   be accepted; `streamVersion` reports the durable version.
 * - **Memory.** The verified log is kept in memory for reads (like the memory store), so open time
 *   and memory grow with the log; fine for a peer's log, not for an archive.
 * - **Failures.** A failed write fails the store (see `group-commit.ts`); an append rejected with
 *   `ERR_STORE_UNAVAILABLE` may or may not be in the log after a reopen.
 *
 * See `file-record.ts` (record format and hash chain), `file-head.ts`, `file-log-verify.ts`
 * (corruption reasons and the torn-tail rule) and `file-lock.ts`.
 */
import type { FileHandle } from 'node:fs/promises';
import type { AppendResult, EventStore, RecordedEvent } from './event-store.js';
import { freezeEvents } from './event-data.js';
import { writeHead } from './file-head.js';
import { openLogDir, type FileRecovery } from './file-log-open.js';
import { encodeRecord } from './file-record.js';
import { createGroupCommit, writeFailure } from './group-commit.js';
import { createIndexFeed } from './index-feed.js';
import { createLogIndex, indexReads, recordEvents } from './log-index.js';
import { checkExpectedVersion, closedError } from './store-guards.js';

export type { FileRecovery } from './file-log-open.js';

export interface FileEventStoreInit {
  /** Called with human-readable warnings (torn tail dropped, loose directory mode). */
  readonly onWarning?: (message: string) => void;
  /** A batch stops growing past this many bytes of events (default 8 MiB). */
  readonly maxBatchBytes?: number;
}

export interface FileEventStore extends EventStore {
  readonly kind: 'file';
  /** Absolute path of the log directory. */
  readonly path: string;
  /** Set when open dropped a torn, never-acknowledged final record. */
  readonly recovered: FileRecovery | undefined;
  /** Records (batches) written since open; each cost one fdatasync of the log plus the head. */
  readonly batchesWritten: number;
}

interface PendingAppend {
  readonly events: readonly RecordedEvent[];
  /** The events as JSON, without the surrounding brackets. */
  readonly json: string;
}

async function writeAll(file: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await file.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

/**
 * Open (creating if needed) the file log in directory `path`. Fails with `LogCorruptError` when
 * verification fails and `ERR_STORE_LOCKED` when another process has the log open.
 *
 * @example
 * const store = await createFileEventStore('/var/lib/conclave/log', { onWarning: console.warn });
 * if (store.recovered) console.warn(store.recovered.message);
 * await store.append('peer:p1', [{ type: 'peer.started', data: {}, meta }], { expectedVersion: 0 });
 * await store.close();
 */
export async function createFileEventStore(
  path: string,
  init: FileEventStoreInit = {},
): Promise<FileEventStore> {
  const opened = await openLogDir(path, init.onWarning ?? (() => undefined));
  const { dir, file, lock } = opened;
  const description = `file:${dir}`;
  const index = createLogIndex();
  index.add(opened.log.events);
  let lastHash = opened.log.lastHash;
  let nextPosition = index.head + 1;
  /** Stream versions including appends that are accepted but not yet durable. */
  const writeVersions = new Map<string, number>();
  for (const s of index.listStreams('')) writeVersions.set(s.stream, s.version);

  let isClosed = false;
  let closing: Promise<void> | undefined;
  const feed = createIndexFeed(index, () => (isClosed ? closedError(description) : undefined));

  const commit = createGroupCommit<PendingAppend>({
    maxBatchBytes: init.maxBatchBytes ?? 8 * 1024 * 1024,
    sizeOf: (p) => p.json.length,
    toFailure: (err) => writeFailure(description, err),
    async writeBatch(items) {
      const first = (items[0] as PendingAppend).events[0] as RecordedEvent;
      const lastItem = items[items.length - 1] as PendingAppend;
      const last = lastItem.events[lastItem.events.length - 1] as RecordedEvent;
      const eventsJson =
        items.length === 1 ? `[${lastItem.json}]` : `[${items.map((p) => p.json).join(',')}]`;
      const record = encodeRecord(lastHash, first.position, last.position, eventsJson);
      await writeAll(file, record.bytes);
      await file.datasync();
      await writeHead(dir, { position: last.position, hash: record.hash });
      lastHash = record.hash;
      for (const p of items) index.add(p.events);
      feed.notify();
    },
  });

  function assertOpen(): void {
    if (isClosed) throw closedError(description);
  }

  return {
    kind: 'file',
    description,
    path: dir,
    recovered: opened.recovered,
    get batchesWritten() {
      return commit.batches;
    },

    async append(stream, events, options): Promise<AppendResult> {
      assertOpen();
      if (commit.failure) throw commit.failure;
      const frozen = freezeEvents(stream, events);
      const actual = writeVersions.get(stream) ?? 0;
      checkExpectedVersion(stream, options?.expectedVersion, actual);
      const firstPosition = nextPosition;
      const recorded = recordEvents(stream, actual + 1, firstPosition, frozen);
      writeVersions.set(stream, actual + frozen.length);
      nextPosition += frozen.length;
      const json = JSON.stringify(recorded);
      await commit.enqueue({ events: recorded, json: json.slice(1, -1) });
      return {
        version: actual + frozen.length,
        firstPosition,
        lastPosition: firstPosition + frozen.length - 1,
      };
    },

    ...indexReads(index, assertOpen),
    subscribe: (options) => feed.subscribe(options),

    flush: () => commit.drain(),

    close() {
      closing ??= (async () => {
        isClosed = true;
        await commit.drain().catch(() => undefined);
        feed.complete();
        await file.close();
        await lock.release();
      })();
      return closing;
    },
  };
}
