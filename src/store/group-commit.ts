/**
 * Group commit: items enqueued in the same macrotask, or while the previous batch is being written,
 * are handed to `writeBatch` together, so a durable store pays one write + fsync per batch instead of
 * per append. Each `enqueue` promise settles when its batch has been written.
 *
 * A failed batch is fatal: the writer cannot know how much of it reached the disk, so that batch,
 * everything queued behind it and everything enqueued later is rejected with the same error until
 * the store is reopened (which recovers or reports the file's state).
 */
import { AppError } from '../errors.js';

export interface GroupCommitInit<T> {
  /** Write the items durably, in order. Throwing fails the batch and the writer. */
  readonly writeBatch: (items: readonly T[]) => Promise<void>;
  /** Size of an item, for {@link GroupCommitInit.maxBatchBytes}. */
  readonly sizeOf: (item: T) => number;
  /** A batch stops growing past this many bytes (one item is always taken). */
  readonly maxBatchBytes: number;
  /** Turns a write error into the error every pending and later item fails with. */
  readonly toFailure: (err: unknown) => AppError;
}

export interface GroupCommit<T> {
  enqueue(item: T): Promise<void>;
  /** Settles when everything enqueued so far has been written; rejects if the writer failed. */
  drain(): Promise<void>;
  readonly failure: AppError | undefined;
  /** Batches written so far (for metrics and benches). */
  readonly batches: number;
}

interface Entry<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/**
 * @example
 * const commit = createGroupCommit({ writeBatch, sizeOf: (x) => x.bytes, maxBatchBytes: 8 << 20, toFailure });
 * await commit.enqueue(item); // durable now
 */
export function createGroupCommit<T>(init: GroupCommitInit<T>): GroupCommit<T> {
  let queue: Array<Entry<T>> = [];
  let isRunning = false;
  let isScheduled = false;
  let failure: AppError | undefined;
  let batches = 0;
  let tail: Promise<void> = Promise.resolve();

  function takeBatch(): Array<Entry<T>> {
    let bytes = 0;
    let n = 0;
    while (n < queue.length) {
      bytes += init.sizeOf((queue[n] as Entry<T>).item);
      if (n > 0 && bytes > init.maxBatchBytes) break;
      n++;
    }
    if (n === queue.length) {
      const all = queue;
      queue = [];
      return all;
    }
    return queue.splice(0, n);
  }

  async function run(): Promise<void> {
    isScheduled = false;
    isRunning = true;
    try {
      while (queue.length > 0) {
        const batch = takeBatch();
        try {
          await init.writeBatch(batch.map((e) => e.item));
          batches++;
        } catch (err) {
          failure = init.toFailure(err);
          for (const e of batch) e.reject(failure);
          for (const e of queue) e.reject(failure);
          queue = [];
          return;
        }
        for (const e of batch) e.resolve();
      }
    } finally {
      isRunning = false;
    }
  }

  return {
    enqueue(item) {
      if (failure) return Promise.reject(failure);
      const p = new Promise<void>((resolve, reject) => {
        queue.push({ item, resolve, reject });
      });
      if (!isRunning && !isScheduled) {
        isScheduled = true;
        // setImmediate, not a microtask: appends issued across a chain of awaits in the same
        // macrotask (e.g. one per stream after a version lookup) still share one batch.
        setImmediate(() => void run());
      }
      tail = p.catch(() => undefined);
      return p;
    },
    async drain() {
      await tail;
      if (failure) throw failure;
    },
    get failure() {
      return failure;
    },
    get batches() {
      return batches;
    },
  };
}

/** The default failure for a log write that did not complete. */
export function writeFailure(description: string, err: unknown): AppError {
  const reason = err instanceof Error ? err.message : String(err);
  return new AppError(
    'ERR_STORE_UNAVAILABLE',
    `writing event log ${description} failed (${reason}); appends are refused until the store is reopened (check disk space and permissions)`,
    { cause: err },
  );
}
