/**
 * The write path of the MongoDB store: group commit into one ordered `insertMany` per batch, with
 * global positions handed out **when the batch is built**, in queue order, from the single
 * writer's counter. Batches run one after another, so commits become visible in position order.
 *
 * When an insert fails, the commits before the failing one are acknowledged (the driver reports
 * how many were inserted), the failing one gets its translated error (a duplicate key on the stream
 * index is a `VersionConflictError`), and every later one is rejected as not written. Then the
 * writer resets: cached versions and the counter are re-read from the database before the next
 * batch. A network error leaves it unknown whether the batch was written; those appends fail with
 * `ERR_STORE_UNAVAILABLE` and may be in the log.
 */
import { AppError } from '../errors.js';
import type { AppendResult, RecordedEvent } from './event-store.js';
import type { FrozenEvent } from './event-data.js';
import { recordEvents } from './log-index.js';
import { firstWriteError, toCommitDocument, type CommitDocument } from './mongo-commit.js';

export interface CommitRequest {
  readonly stream: string;
  readonly fromVersion: number;
  readonly events: readonly FrozenEvent[];
}

export interface MongoWriterDeps {
  /** Before each batch: throws unless this process holds the writer lease. */
  readonly checkLease: () => void;
  /** The log's last position, read when the writer starts and after a failure. */
  readonly loadHead: () => Promise<number>;
  readonly insertMany: (docs: readonly CommitDocument[]) => Promise<void>;
  /** Committed events, in position order, for local subscribers. */
  readonly committed: (events: readonly RecordedEvent[]) => void;
  /** The error for the request whose insert failed. */
  readonly translate: (err: unknown, req: CommitRequest) => Promise<AppError>;
  /** After any failure: forget cached versions and the counter. */
  readonly reset: () => void;
  readonly now: () => Date;
}

export interface MongoWriter {
  submit(req: CommitRequest): Promise<AppendResult>;
  /** Settles when everything submitted so far is settled. */
  drain(): Promise<void>;
}

interface Entry {
  readonly req: CommitRequest;
  readonly resolve: (r: AppendResult) => void;
  readonly reject: (err: Error) => void;
}

const MAX_DOCS_PER_BATCH = 1_000;

/**
 * @example
 * const writer = createMongoWriter({ checkLease, loadHead, insertMany, committed, translate, reset, now });
 * const result = await writer.submit({ stream, fromVersion: 1, events: frozen });
 */
export function createMongoWriter(deps: MongoWriterDeps): MongoWriter {
  let queue: Entry[] = [];
  let isRunning = false;
  let isScheduled = false;
  let tail: Promise<unknown> = Promise.resolve();
  /** Last position known to be in the log; `undefined` until `prepare` says. */
  let counter: number | undefined;

  function notWritten(e: Entry, why: string): void {
    e.reject(
      new AppError(
        'ERR_STORE_UNAVAILABLE',
        `append to ${e.req.stream} was not written: ${why}; retry it`,
      ),
    );
  }

  function fail(rest: Entry[], why: string): void {
    for (const e of rest) notWritten(e, why);
    for (const e of queue) notWritten(e, why);
    queue = [];
    counter = undefined;
    deps.reset();
  }

  async function runBatch(batch: Entry[]): Promise<void> {
    let start: number;
    try {
      deps.checkLease();
      start = counter ?? (await deps.loadHead());
    } catch (err) {
      const first = batch[0] as Entry;
      first.reject(await deps.translate(err, first.req));
      fail(batch.slice(1), 'the writer could not prepare the batch');
      return;
    }
    const at = deps.now();
    let next = start + 1;
    const docs = batch.map((e) => {
      const doc = toCommitDocument(e.req.stream, e.req.fromVersion, next, e.req.events, at);
      next += e.req.events.length;
      return doc;
    });
    let okCount = batch.length;
    let failure: unknown;
    try {
      await deps.insertMany(docs);
    } catch (err) {
      const w = firstWriteError(err);
      okCount = w?.index ?? 0;
      failure = w?.error ?? err;
    }
    const committed: RecordedEvent[] = [];
    for (let i = 0; i < okCount; i++) {
      const e = batch[i] as Entry;
      const doc = docs[i] as CommitDocument;
      committed.push(...recordEvents(doc.stream, doc.fromVersion, doc.fromPosition, e.req.events));
      counter = doc.toPosition;
      e.resolve({
        version: doc.toVersion,
        firstPosition: doc.fromPosition,
        lastPosition: doc.toPosition,
      });
    }
    if (committed.length > 0) deps.committed(committed);
    if (okCount < batch.length) {
      const failed = batch[okCount] as Entry;
      failed.reject(await deps.translate(failure, failed.req));
      fail(batch.slice(okCount + 1), 'an earlier append in its batch failed');
    }
  }

  async function run(): Promise<void> {
    isScheduled = false;
    isRunning = true;
    try {
      while (queue.length > 0) {
        const batch =
          queue.length <= MAX_DOCS_PER_BATCH ? queue : queue.slice(0, MAX_DOCS_PER_BATCH);
        queue = queue.length <= MAX_DOCS_PER_BATCH ? [] : queue.slice(MAX_DOCS_PER_BATCH);
        await runBatch(batch);
      }
    } finally {
      isRunning = false;
    }
  }

  return {
    submit(req) {
      const p = new Promise<AppendResult>((resolve, reject) => {
        queue.push({ req, resolve, reject });
      });
      if (!isRunning && !isScheduled) {
        isScheduled = true;
        setImmediate(() => void run());
      }
      tail = p.catch(() => undefined);
      return p;
    },
    async drain() {
      await tail;
    },
  };
}
