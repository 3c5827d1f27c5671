/**
 * The polling subscription logic of the MongoDB store, run over an in-memory log (our logic, not
 * MongoDB's): `head`/`read` answer from a `LogIndex` after a delay, like a database round trip.
 */
import { firstValueFrom, lastValueFrom, take, timeout, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import type { RecordedEvent } from '../../src/store/event-store.js';
import { freezeEvents } from '../../src/store/event-data.js';
import { createLogIndex, recordEvents } from '../../src/store/log-index.js';
import { createPollingFeed, type PollingSource } from '../../src/store/polling-feed.js';
import { anEvent } from './event-store.contract.js';

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function setup(options: { failHead?: () => boolean } = {}) {
  const index = createLogIndex();
  let isClosed = false;
  const source: PollingSource = {
    async head() {
      await delay(2);
      if (options.failHead?.()) throw new Error('connection reset');
      return index.head;
    },
    async read(after, upTo, prefix, limit) {
      await delay(2);
      return index
        .readAll(after, Number.MAX_SAFE_INTEGER, prefix)
        .filter((e) => e.position <= upTo)
        .slice(0, limit);
    },
  };
  const feed = createPollingFeed(source, {
    pollIntervalMs: 20,
    maxFailures: 3,
    closedReason: () => (isClosed ? new AppError('ERR_STORE_CLOSED', 'closed') : undefined),
    toError: () => new AppError('ERR_STORE_UNAVAILABLE', 'down'),
  });
  function write(stream: string, n: number, isLocal = true): RecordedEvent[] {
    const recorded = recordEvents(
      stream,
      index.version(stream) + 1,
      index.head + 1,
      freezeEvents(
        stream,
        Array.from({ length: n }, () => anEvent('T')),
      ),
    );
    index.add(recorded);
    if (isLocal) feed.publish(recorded);
    return recorded;
  }
  return {
    feed,
    write,
    close: () => {
      isClosed = true;
      return feed.complete();
    },
  };
}

const positions = (es: readonly RecordedEvent[]): number[] => es.map((e) => e.position);
const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('polling feed (MongoDB subscriptions, over an in-memory log)', () => {
  it('delivers catch-up and local appends made during it once each, in order', async () => {
    const { feed, write } = setup();
    for (let i = 0; i < 50; i++) write(`s${i % 3}`, 2);
    const got = firstValueFrom(feed.subscribe().pipe(take(130), toArray(), timeout(5_000)));
    for (let i = 0; i < 30; i++) {
      write('live', 1);
      await delay(i % 5 === 0 ? 3 : 0);
    }
    expect(positions(await got)).toEqual(upTo(130));
  });

  it('picks up appends of another process by polling', async () => {
    const { feed, write } = setup();
    const got = firstValueFrom(feed.subscribe().pipe(take(3), toArray(), timeout(5_000)));
    write('other', 2, false);
    await delay(5);
    write('mine', 1);
    expect(positions(await got)).toEqual([1, 2, 3]);
  });

  it('filters by prefix without losing its place', async () => {
    const { feed, write } = setup();
    write('room:a', 1);
    write('peer:x', 1, false);
    const got = firstValueFrom(
      feed.subscribe({ streamPrefix: 'room:' }).pipe(take(2), toArray(), timeout(5_000)),
    );
    write('peer:y', 1);
    write('room:b', 1);
    expect((await got).map((e) => [e.stream, e.position])).toEqual([
      ['room:a', 1],
      ['room:b', 4],
    ]);
  });

  it('polls once more and completes on close', async () => {
    const { feed, write, close } = setup();
    write('a', 2);
    const all = lastValueFrom(feed.subscribe({ after: 1 }).pipe(toArray(), timeout(5_000)));
    write('b', 1, false);
    await close();
    expect(positions(await all)).toEqual([2, 3]);
  });

  it('errors a subscriber after repeated failed polls', async () => {
    const { feed } = setup({ failHead: () => true });
    const err = await firstValueFrom(feed.subscribe()).catch((e: unknown) => e);
    expect((err as AppError).code).toBe('ERR_STORE_UNAVAILABLE');
  });
});
