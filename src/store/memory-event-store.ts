/**
 * The volatile event store: the default when running `--volatile`, and the fake every other
 * module's tests use. It is an **honest twin** of the durable stores: it accepts exactly the data
 * they can hold faithfully (JSON, see `event-data.ts`), enforces the same size limit and
 * `expectedVersion` rules, stores deep-frozen copies, and passes the same contract suite.
 */
import type { AppendResult, EventStore, NewEvent } from './event-store.js';
import { freezeEvents } from './event-data.js';
import { createIndexFeed } from './index-feed.js';
import { createLogIndex, indexReads, recordEvents } from './log-index.js';
import { checkExpectedVersion, closedError, settle } from './store-guards.js';

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
 */
export function createMemoryEventStore(): EventStore {
  const description = 'memory';
  const index = createLogIndex();
  let isClosed = false;
  const feed = createIndexFeed(index, () => (isClosed ? closedError(description) : undefined));

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
        const frozen = freezeEvents(stream, events);
        const actual = index.version(stream);
        checkExpectedVersion(stream, options?.expectedVersion, actual);
        const firstPosition = index.head + 1;
        index.add(recordEvents(stream, actual + 1, firstPosition, frozen));
        feed.notify();
        return {
          version: actual + frozen.length,
          firstPosition,
          lastPosition: firstPosition + frozen.length - 1,
        };
      });
    },

    ...indexReads(index, assertOpen),
    subscribe: (options) => feed.subscribe(options),

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
