/**
 * The MongoDB store (`mongodb://…`, `mongodb+srv://…`) on the official driver. Works on a
 * standalone server (no transactions, no change streams needed); MongoDB ≥ 5.0 (event data may
 * hold `$`-prefixed keys such as `$actor`).
 *
 * - Storage: one commit document per append, unique indexes for optimistic concurrency and
 *   positions (`mongo-commit.ts`); group commit into ordered `insertMany` (`mongo-writer.ts`).
 * - Global positions: one writer per log, enforced by a lease taken on the **first append**
 *   (`mongo-lease.ts`). A process that only reads (e.g. `conclave log`) never takes it, so it can
 *   read and follow a log a running peer is writing.
 * - Subscriptions: polling plus in-process delivery of local appends (`polling-feed.ts`).
 * - Reads go to the database, so they see appends of other processes too.
 */
import { MongoClient, type Collection } from 'mongodb';
import { AppError, VersionConflictError } from '../errors.js';
import type { EventStore } from './event-store.js';
import { freezeEvents } from './event-data.js';
import {
  COMMIT_INDEXES,
  DEFAULT_MAX_BSON_SIZE,
  assertFits,
  databaseFromUri,
  describeUri,
  duplicateKeyIndex,
  toCommitDocument,
  unavailable,
  type CommitDocument,
} from './mongo-commit.js';
import { acquireWriterLease, type LeaseDocument, type WriterLease } from './mongo-lease.js';
import { createMongoWriter } from './mongo-writer.js';
import { createMongoQueries } from './mongo-queries.js';
import { createPollingFeed } from './polling-feed.js';
import { allWindow, checkExpectedVersion, closedError, streamWindow } from './store-guards.js';

export interface MongoEventStoreInit {
  /** Database name (default: the URI's path, else `conclave`). */
  readonly database?: string;
  /** Prefix of the collection names `<prefix>commits` and `<prefix>leases` (default `conclave.`). */
  readonly collectionPrefix?: string;
  /** How often subscribers poll for appends of other processes (default 200 ms). */
  readonly pollIntervalMs?: number;
  /** Writer lease time-to-live (default 15 s). */
  readonly leaseTtlMs?: number;
  /** How long to wait for a server at open (default 5 s). */
  readonly serverSelectionTimeoutMS?: number;
}

/**
 * Connect to MongoDB and open the log in `database` (indexes are created if missing). Connection
 * problems are `ERR_STORE_UNAVAILABLE`, a bad URI is `ERR_INVALID_CONFIG`; neither message nor
 * `description` ever contains credentials.
 *
 * @example
 * const store = await createMongoEventStore('mongodb://127.0.0.1:27017', { database: 'conclave' });
 * await store.append('room:r1', [{ type: 'RoomCreated', data: {}, meta }], { expectedVersion: 0 });
 * await store.close();
 */
export async function createMongoEventStore(
  uri: string,
  init: MongoEventStoreInit = {},
): Promise<EventStore> {
  const database = init.database ?? databaseFromUri(uri) ?? 'conclave';
  const description = describeUri(uri, database);
  const prefix = init.collectionPrefix ?? 'conclave.';
  let client: MongoClient;
  try {
    client = new MongoClient(uri, {
      serverSelectionTimeoutMS: init.serverSelectionTimeoutMS ?? 5_000,
      appName: 'conclave',
    });
    await client.connect();
  } catch (err) {
    throw unavailable(description, err, 'connecting');
  }
  const db = client.db(database);
  const commits: Collection<CommitDocument> = db.collection<CommitDocument>(`${prefix}commits`);
  const q = createMongoQueries(commits);
  const leases = db.collection<LeaseDocument>(`${prefix}leases`);
  let maxBsonSize = DEFAULT_MAX_BSON_SIZE;
  try {
    await commits.createIndexes([...COMMIT_INDEXES]);
    const hello = await db.command({ hello: 1 });
    if (typeof hello.maxBsonObjectSize === 'number') maxBsonSize = hello.maxBsonObjectSize;
  } catch (err) {
    await client.close().catch(() => undefined);
    throw unavailable(description, err, 'preparing the commits collection');
  }

  let isClosed = false;
  let closing: Promise<void> | undefined;
  let lease: Promise<WriterLease> | undefined;
  let epoch = 0;
  const versions = new Map<string, number>();
  const loading = new Map<string, Promise<number>>();

  function assertOpen(): void {
    if (isClosed) throw closedError(description);
  }
  async function guarded<T>(doing: string, op: () => Promise<T>): Promise<T> {
    assertOpen();
    try {
      return await op();
    } catch (err) {
      throw unavailable(description, err, doing);
    }
  }
  /**
   * Make sure the write-side version of `stream` is cached (loaded once per stream). The cache
   * includes appends in flight; callers read it synchronously right after, so a check and its
   * reservation never straddle an `await`.
   */
  async function loadWriteVersion(stream: string): Promise<void> {
    while (!versions.has(stream)) {
      const started = epoch;
      let p = loading.get(stream);
      if (!p) {
        p = q.streamVersion(stream).finally(() => loading.delete(stream));
        loading.set(stream, p);
      }
      const v = await p;
      if (started === epoch && !versions.has(stream)) versions.set(stream, v);
    }
  }
  function writerLease(): Promise<WriterLease> {
    lease ??= acquireWriterLease(leases, { ttlMs: init.leaseTtlMs ?? 15_000, description }).catch(
      (err: unknown) => {
        lease = undefined;
        throw err;
      },
    );
    return lease;
  }

  const feed = createPollingFeed(
    { head: q.head, read: q.logEvents },
    {
      pollIntervalMs: init.pollIntervalMs ?? 200,
      closedReason: () => (isClosed ? closedError(description) : undefined),
      toError: (err) => unavailable(description, err, 'polling the log'),
    },
  );

  let heldLease: WriterLease | undefined;
  const writer = createMongoWriter({
    checkLease: () => heldLease?.assertHeld(),
    loadHead: q.head,
    insertMany: async (docs) => {
      await commits.insertMany(docs, { ordered: true });
    },
    committed: (recorded) => feed.publish(recorded),
    async translate(err, req) {
      if (err instanceof AppError) return err;
      if (duplicateKeyIndex(err) === 'version') {
        return new VersionConflictError(
          req.stream,
          req.fromVersion - 1,
          await q.streamVersion(req.stream).catch(() => -1),
        );
      }
      if (duplicateKeyIndex(err) === 'position') {
        return new AppError(
          'ERR_STORE_LOCKED',
          `another process appended to ${description} while this one held the writer lease; stop the other writer`,
        );
      }
      return unavailable(
        description,
        err,
        `appending to ${req.stream} (it may or may not have been written)`,
      );
    },
    reset: () => {
      epoch++;
      versions.clear();
    },
    now: () => new Date(),
  });

  return {
    kind: 'mongodb',
    description,
    async append(stream, newEvents, options) {
      assertOpen();
      const frozen = freezeEvents(stream, newEvents);
      assertFits(toCommitDocument(stream, 2 ** 40, 2 ** 40, frozen, new Date()), maxBsonSize);
      heldLease = await writerLease();
      if (isClosed) {
        await heldLease.release(); // close() ran while the lease was being taken
        throw closedError(description);
      }
      heldLease.assertHeld();
      let actual = versions.get(stream);
      while (actual === undefined) {
        await guarded('reading the stream version', () => loadWriteVersion(stream));
        actual = versions.get(stream); // a reset may have cleared it again meanwhile
      }
      assertOpen();
      checkExpectedVersion(stream, options?.expectedVersion, actual);
      versions.set(stream, actual + frozen.length);
      return writer.submit({ stream, fromVersion: actual + 1, events: frozen });
    },
    readStream: (stream, options) =>
      guarded('reading a stream', () => {
        const { after, limit } = streamWindow(options);
        return q.streamEvents(stream, after, limit);
      }),
    readAll: (options) =>
      guarded('reading the log', () => {
        const { after, limit, prefix } = allWindow(options);
        return q.logEvents(after, Number.MAX_SAFE_INTEGER, prefix, limit);
      }),
    subscribe: (options) => feed.subscribe(options),
    streamVersion: (stream) => guarded('reading a stream version', () => q.streamVersion(stream)),
    listStreams: (prefix) => guarded('listing streams', () => q.listStreams(prefix ?? '')),
    headPosition: () => guarded('reading the head position', q.head),
    firstPosition: () => guarded('reading the first position', () => Promise.resolve(1)),
    flush: () => writer.drain(),
    close() {
      closing ??= (async () => {
        isClosed = true;
        await writer.drain();
        await feed.complete();
        await heldLease?.release();
        await client.close().catch(() => undefined);
      })();
      return closing;
    },
  };
}
