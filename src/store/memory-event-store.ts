/**
 * The volatile event store: the default when running `--volatile`, and the fake every other
 * module's tests use. It is an **honest twin** of the durable stores: it accepts exactly the data
 * they can hold faithfully (JSON, see `event-data.ts`), enforces the same size limit and
 * `expectedVersion` rules, stores deep-frozen copies, and passes the same contract suite.
 *
 * **Retention** (`retainBytes`, what `conclave serve --log-retain` sets): a long-lived peer keeps
 * only the newest events whose estimated JSON size (`freezeEventsSized`) sums to at most the
 * budget; older ones are dropped, lowest position first (see `log-index.ts` for when and how).
 * The heap a held event costs is a few times its JSON size. After a drop:
 * - versions are unchanged: `streamVersion` and `expectedVersion` count every event ever
 *   appended, and `listStreams` lists every stream with its true version and last position;
 * - `readStream`/`readAll` return the held events after the window start (dropped ones are
 *   simply absent, no error); `firstPosition()` says where the held log starts;
 * - `subscribe({ after })` with `after` below it starts at the oldest held event, and a
 *   subscriber still catching up when its next events are dropped skips ahead the same way (live
 *   subscribers see every event: events are dropped only after they were delivered);
 * - `headPosition()` is the last position ever assigned;
 * - the newest event is never dropped (an event larger than the budget is held alone).
 * Without `retainBytes` (or with 0) nothing is ever dropped.
 */
import { AppError } from '../errors.js';
import type { AppendResult, EventStore, LogRetention, NewEvent } from './event-store.js';
import { freezeEventsSized } from './event-data.js';
import { createIndexFeed } from './index-feed.js';
import { createLogIndex, indexReads, recordEvents } from './log-index.js';
import { checkExpectedVersion, closedError, settle } from './store-guards.js';

export interface MemoryEventStoreInit {
  /**
   * Keep only the newest events whose estimated JSON size sums to at most this many bytes
   * (a whole number; 0 or absent: keep every event).
   */
  readonly retainBytes?: number;
}

export interface MemoryEventStore extends EventStore {
  readonly kind: 'memory';
  /** Budget, held size and dropped count (also without a budget: then nothing is dropped). */
  retention(): LogRetention;
}

/**
 * Create an empty in-memory event store. Appends commit synchronously (the promise resolves on
 * the next microtask) and subscribers see them at once.
 *
 * @example
 * const store = createMemoryEventStore();
 * const { version } = await store.append(
 *   'room:r1',
 *   [{ type: 'RoomCreated', data: { name: 'ops' }, meta: { recordedAt: new Date().toISOString() } }],
 *   { expectedVersion: 0 },
 * );
 * store.subscribe({ after: 0 }).subscribe((e) => console.log(e.position, e.type));
 *
 * @example
 * // A long-lived peer: keep the newest 32 MiB (estimated JSON) of events.
 * const bounded = createMemoryEventStore({ retainBytes: 32 * 1024 * 1024 });
 */
export function createMemoryEventStore(init: MemoryEventStoreInit = {}): MemoryEventStore {
  const retainBytes = init.retainBytes ?? 0;
  if (!Number.isSafeInteger(retainBytes) || retainBytes < 0) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'retainBytes must be a whole number of bytes ≥ 0');
  }
  const description = 'memory';
  const index = createLogIndex({ retainBytes });
  let isClosed = false;
  const closedReason = (): AppError | undefined =>
    isClosed ? closedError(description) : undefined;
  // Trimmed once a delivery to every subscriber is done — after each append, or, when a subscriber
  // appended from its own callback, after the outermost delivery — so no live subscriber misses one.
  const feed = createIndexFeed(index, closedReason, { onIdle: () => index.trim() });

  function assertOpen(): void {
    if (isClosed) throw closedError(description);
  }

  return {
    kind: 'memory',
    description,

    // Not `async`: the hot path is worth one promise, not two.
    append(stream, events: readonly NewEvent[], options): Promise<AppendResult> {
      return settle(() => {
        assertOpen();
        const { events: frozen, estimatedBytes } = freezeEventsSized(stream, events);
        const actual = index.version(stream);
        checkExpectedVersion(stream, options?.expectedVersion, actual);
        const firstPosition = index.head + 1;
        index.add(recordEvents(stream, actual + 1, firstPosition, frozen), estimatedBytes);
        feed.notify(); // trims when done (onIdle)
        return {
          version: actual + frozen.length,
          firstPosition,
          lastPosition: firstPosition + frozen.length - 1,
        };
      });
    },

    ...indexReads(index, assertOpen),
    subscribe: (options) => feed.subscribe(options),
    retention: () => index.retention(),

    // Nothing to make durable; after `close` everything already is, so this never fails.
    flush: () => Promise.resolve(),

    close() {
      if (!isClosed) {
        isClosed = true;
        feed.complete();
      }
      return Promise.resolve();
    },
  };
}
