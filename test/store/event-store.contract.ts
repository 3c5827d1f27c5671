/**
 * The one behavioural contract of `EventStore`, run against every implementation (memory and file
 * always; MongoDB when `MONGODB_URI` is set). A store that passes it can replace any other.
 */
import { firstValueFrom, lastValueFrom, take, timeout, toArray, type Observable } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError, VersionConflictError } from '../../src/errors.js';
import type { EventStore, NewEvent, RecordedEvent } from '../../src/store/event-store.js';

export interface StoreFixture {
  readonly store: EventStore;
  /** Close (if still open) and remove everything the fixture created. */
  cleanup(): Promise<void>;
  /** Durable stores: open the same log again (the test closes `store` first). */
  reopen?(): Promise<EventStore>;
}

export type StoreFactory = () => Promise<StoreFixture>;

const meta = (extra: Record<string, unknown> = {}) => ({
  recordedAt: '2026-01-01T00:00:00.000Z',
  ...extra,
});
export const anEvent = (type: string, data: Record<string, unknown> = {}): NewEvent => ({
  type,
  data,
  meta: meta(),
});
const events = (n: number, type = 'Tick'): NewEvent[] =>
  Array.from({ length: n }, (_, i) => anEvent(type, { i }));

function collect(
  source: Observable<RecordedEvent>,
  n: number,
  ms = 10_000,
): Promise<RecordedEvent[]> {
  return firstValueFrom(source.pipe(take(n), toArray(), timeout(ms)));
}

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<unknown> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a rejection with ${code}`).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  return err;
}

const positions = (es: readonly RecordedEvent[]): number[] => es.map((e) => e.position);
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

export function describeEventStoreContract(name: string, factory: StoreFactory): void {
  describe(`EventStore contract: ${name}`, () => {
    let fx: StoreFixture;
    let store: EventStore;
    beforeEach(async () => {
      fx = await factory();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    describe('append and read', () => {
      it('assigns versions from 1 and positions from 1 and reads them back in order', async () => {
        const r = await store.append('room:a', [anEvent('A', { n: 1 }), anEvent('B', { n: 2 })], {
          expectedVersion: 0,
        });
        expect(r).toEqual({ version: 2, firstPosition: 1, lastPosition: 2 });
        const read = await store.readStream('room:a');
        expect(read).toEqual([
          { stream: 'room:a', version: 1, position: 1, type: 'A', data: { n: 1 }, meta: meta() },
          { stream: 'room:a', version: 2, position: 2, type: 'B', data: { n: 2 }, meta: meta() },
        ]);
        expect(await store.streamVersion('room:a')).toBe(2);
      });

      it('returns [] and version 0 for an unknown stream', async () => {
        expect(await store.readStream('room:none')).toEqual([]);
        expect(await store.streamVersion('room:none')).toBe(0);
      });

      it('reads a stream window with afterVersion and limit', async () => {
        await store.append('s', events(5));
        const read = await store.readStream('s', { afterVersion: 2, limit: 2 });
        expect(read.map((e) => e.version)).toEqual([3, 4]);
        expect(await store.readStream('s', { afterVersion: 5 })).toEqual([]);
        expect(await store.readStream('s', { limit: 0 })).toEqual([]);
      });

      it('rejects an empty append and appends nothing', async () => {
        await rejectsWithCode(store.append('s', []), 'ERR_INVALID_ARGUMENT');
        expect(await store.headPosition()).toBe(0);
      });

      it('rejects an empty stream name', async () => {
        await rejectsWithCode(store.append('', events(1)), 'ERR_INVALID_ARGUMENT');
      });
    });

    describe('expectedVersion', () => {
      it('accepts the exact version and 0 for a new stream', async () => {
        await store.append('s', events(1), { expectedVersion: 0 });
        await expect(store.append('s', events(1), { expectedVersion: 1 })).resolves.toMatchObject({
          version: 2,
        });
      });

      it.each([
        ['a stale number', 0],
        ['a future number', 5],
      ])('throws VersionConflictError for %s and appends nothing', async (_label, expected) => {
        await store.append('s', events(1));
        const err = await store
          .append('s', events(2), { expectedVersion: expected })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VersionConflictError);
        expect(err).toMatchObject({ code: 'ERR_VERSION_CONFLICT', stream: 's', actual: 1 });
        expect(await store.streamVersion('s')).toBe(1);
        expect(await store.headPosition()).toBe(1);
      });

      it("'exists' needs at least one event", async () => {
        const err = await store
          .append('s', events(1), { expectedVersion: 'exists' })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VersionConflictError);
        await store.append('s', events(1), { expectedVersion: 'any' });
        await expect(
          store.append('s', events(1), { expectedVersion: 'exists' }),
        ).resolves.toMatchObject({ version: 2 });
      });

      it("'any' and an omitted expectedVersion never conflict", async () => {
        await store.append('s', events(1), { expectedVersion: 'any' });
        await store.append('s', events(1));
        expect(await store.streamVersion('s')).toBe(2);
      });

      it.each([[-1], [1.5], ['latest']])(
        'rejects the malformed expectedVersion %s',
        async (bad) => {
          await rejectsWithCode(
            store.append('s', events(1), { expectedVersion: bad as never }),
            'ERR_INVALID_ARGUMENT',
          );
        },
      );

      it('lets exactly one of two concurrent appends at the same expected version win', async () => {
        await store.append('s', events(1));
        const results = await Promise.allSettled([
          store.append('s', [anEvent('Left')], { expectedVersion: 1 }),
          store.append('s', [anEvent('Right')], { expectedVersion: 1 }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflictError);
        const read = await store.readStream('s');
        expect(read.map((e) => e.version)).toEqual([1, 2]);
        expect(await store.headPosition()).toBe(2);
      });
    });

    describe('global order', () => {
      it('keeps positions strictly increasing and gap-free across concurrent appends to many streams', async () => {
        const appends = Array.from({ length: 60 }, (_, i) =>
          store.append(`room:${i % 7}`, events(1 + (i % 3))),
        );
        const results = await Promise.all(appends);
        const total = results.reduce((n, r) => n + r.lastPosition - r.firstPosition + 1, 0);
        const all = await store.readAll();
        expect(positions(all)).toEqual(range(1, total));
        expect(await store.headPosition()).toBe(total);
        const claimed = results
          .flatMap((r) => range(r.firstPosition, r.lastPosition))
          .sort((a, b) => a - b);
        expect(claimed).toEqual(range(1, total));
        for (let s = 0; s < 7; s++) {
          const stream = await store.readStream(`room:${s}`);
          expect(stream.map((e) => e.version)).toEqual(range(1, stream.length));
        }
      });

      it('reads all with after, limit and streamPrefix', async () => {
        await store.append('room:a', events(2));
        await store.append('peer:x', events(2));
        await store.append('room:b', events(2));
        expect(positions(await store.readAll({ after: 2, limit: 3 }))).toEqual([3, 4, 5]);
        const rooms = await store.readAll({ streamPrefix: 'room:' });
        expect(rooms.map((e) => [e.stream, e.position])).toEqual([
          ['room:a', 1],
          ['room:a', 2],
          ['room:b', 5],
          ['room:b', 6],
        ]);
        expect(
          positions(await store.readAll({ streamPrefix: 'room:', after: 1, limit: 2 })),
        ).toEqual([2, 5]);
        expect(await store.readAll({ after: 6 })).toEqual([]);
      });

      it('lists streams sorted by name, optionally by prefix', async () => {
        await store.append('room:b', events(2));
        await store.append('peer:x', events(1));
        await store.append('room:a', events(1));
        expect(await store.listStreams()).toEqual([
          { stream: 'peer:x', version: 1, lastPosition: 3 },
          { stream: 'room:a', version: 1, lastPosition: 4 },
          { stream: 'room:b', version: 2, lastPosition: 2 },
        ]);
        expect((await store.listStreams('room:')).map((s) => s.stream)).toEqual([
          'room:a',
          'room:b',
        ]);
      });

      it('reports the head position', async () => {
        expect(await store.headPosition()).toBe(0);
        await store.append('a', events(3));
        expect(await store.headPosition()).toBe(3);
      });

      it('reports first position 1 while nothing was dropped (always, for durable stores)', async () => {
        expect(await store.firstPosition()).toBe(1);
        await store.append('a', events(3));
        expect(await store.firstPosition()).toBe(1);
        expect(positions(await store.readAll())[0]).toBe(await store.firstPosition());
      });
    });

    describe('subscribe', () => {
      it('delivers stored then live events with no loss or duplicates when appends race the catch-up', async () => {
        await Promise.all(
          Array.from({ length: 40 }, (_, i) => store.append(`s${i % 4}`, events(5))),
        );
        const seen: RecordedEvent[] = [];
        const inner: Array<Promise<unknown>> = [];
        let reached: (() => void) | undefined;
        const sub = store.subscribe().subscribe({
          next(e) {
            seen.push(e);
            // Appends made by a subscriber while it is still catching up.
            if (e.position === 1) {
              for (let i = 0; i < 5; i++) inner.push(store.append(`inner${i}`, events(2)));
            }
            if (seen.length === 271) reached?.();
          },
        });
        const racing = Array.from({ length: 30 }, (_, i) => store.append(`s${i % 3}`, events(2)));
        await Promise.all(racing);
        await Promise.all(inner);
        await store.append('last', events(1));
        await new Promise<void>((resolve, reject) => {
          reached = resolve;
          if (seen.length >= 271) resolve();
          setTimeout(() => reject(new Error(`only ${seen.length} of 271 events arrived`)), 10_000);
        });
        sub.unsubscribe();
        expect(positions(seen)).toEqual(range(1, 271));
      });

      it('resumes from a checkpoint', async () => {
        await store.append('a', events(5));
        const got = collect(store.subscribe({ after: 3 }), 4);
        await store.append('b', events(2));
        expect(positions(await got)).toEqual([4, 5, 6, 7]);
      });

      it('filters by stream prefix', async () => {
        await store.append('room:a', events(1));
        await store.append('peer:x', events(1));
        const got = collect(store.subscribe({ streamPrefix: 'room:' }), 2);
        await store.append('peer:y', events(1));
        await store.append('room:b', events(1));
        expect((await got).map((e) => [e.stream, e.position])).toEqual([
          ['room:a', 1],
          ['room:b', 4],
        ]);
      });

      it('gives two subscribers the same sequence', async () => {
        await store.append('a', events(3));
        const one = collect(store.subscribe(), 6);
        const two = collect(store.subscribe({ after: 0 }), 6);
        await store.append('b', events(3));
        expect(positions(await one)).toEqual(range(1, 6));
        expect(await two).toEqual(await one);
      });

      it('completes on close after delivering what was appended', async () => {
        await store.append('a', events(2));
        const all = lastValueFrom(store.subscribe().pipe(toArray(), timeout(10_000)));
        await store.append('a', events(1));
        await store.close();
        expect(positions(await all)).toEqual([1, 2, 3]);
        await store.close(); // idempotent
        await rejectsWithCode(store.append('a', events(1)), 'ERR_STORE_CLOSED');
        await rejectsWithCode(store.readAll(), 'ERR_STORE_CLOSED');
        await rejectsWithCode(store.firstPosition(), 'ERR_STORE_CLOSED');
        await rejectsWithCode(firstValueFrom(store.subscribe()), 'ERR_STORE_CLOSED');
      });
    });

    describe('data', () => {
      it('stores a copy: later mutations of the input do not show, read events cannot be changed', async () => {
        const data = { list: [1, 2], nested: { x: 'a' } };
        await store.append('s', [{ type: 'T', data, meta: meta() }]);
        data.list.push(3);
        data.nested.x = 'changed';
        const [first] = await store.readStream('s');
        expect(first?.data).toEqual({ list: [1, 2], nested: { x: 'a' } });
        try {
          (first?.data as { nested: { x: string } }).nested.x = 'mutated';
        } catch {
          // frozen: expected in strict mode
        }
        const [again] = await store.readStream('s');
        expect(again?.data).toEqual({ list: [1, 2], nested: { x: 'a' } });
      });

      it('round-trips JSON data faithfully', async () => {
        const data = {
          text: 'héllo 🌍 \u0000 "quoted" \n',
          ints: [0, -1, 2 ** 31, 2 ** 53 - 1],
          floats: [0.1, -2.5e-300, 1.7976931348623157e308],
          flags: [true, false, null],
          empty: { obj: {}, arr: [] },
          $actor: 'room-1',
          'dotted.key': 1,
          nested: [[{ deep: [1, [2, [3]]] }]],
        };
        await store.append('s', [
          { type: 'T', data, meta: meta({ from: { a: 'b' }, to: 'joined' }) },
        ]);
        const [e] = await store.readStream('s');
        expect(e?.data).toEqual(data);
        expect(e?.meta).toEqual(meta({ from: { a: 'b' }, to: 'joined' }));
      });

      it.each<[string, unknown]>([
        ['undefined', { a: undefined }],
        ['bigint', { a: 1n }],
        ['a function', { a: () => 1 }],
        ['NaN', { a: Number.NaN }],
        ['Infinity', { a: [Number.POSITIVE_INFINITY] }],
        ['a Date', { a: new Date(0) }],
        ['a Map', { a: new Map() }],
        ['a Buffer', { a: Buffer.from('x') }],
        ['an array hole', { a: Object.assign(new Array<number>(3), { 0: 1, 2: 3 }) }],
        ['a class instance', { a: new (class Point {})() }],
        ['a lone surrogate', { a: '\ud800' }],
        [
          'a cycle',
          (() => {
            const o: Record<string, unknown> = {};
            o.self = o;
            return o;
          })(),
        ],
      ])('rejects %s in event data and appends nothing', async (_label, data) => {
        await rejectsWithCode(
          store.append('s', [{ type: 'T', data: data as Record<string, unknown>, meta: meta() }]),
          'ERR_INVALID_ARGUMENT',
        );
        expect(await store.headPosition()).toBe(0);
      });

      it('rejects a missing recordedAt', async () => {
        await rejectsWithCode(
          store.append('s', [{ type: 'T', data: {}, meta: {} as never }]),
          'ERR_INVALID_ARGUMENT',
        );
      });

      it('rejects an append larger than the document limit', async () => {
        const big = 'x'.repeat(16 * 1024 * 1024);
        await rejectsWithCode(
          store.append('s', [anEvent('Big', { big })]),
          'ERR_DOCUMENT_TOO_LARGE',
        );
        expect(await store.headPosition()).toBe(0);
      });
    });

    describe('durability', () => {
      it('continues versions and positions after a reopen', async (ctx) => {
        if (!fx.reopen) return ctx.skip();
        await store.append('a', events(2));
        await store.append('b', events(1));
        await store.close();
        const again = await fx.reopen();
        try {
          expect(await again.headPosition()).toBe(3);
          expect(await again.streamVersion('a')).toBe(2);
          await expect(again.append('a', events(1), { expectedVersion: 2 })).resolves.toEqual({
            version: 3,
            firstPosition: 4,
            lastPosition: 4,
          });
          expect(positions(await again.readAll())).toEqual([1, 2, 3, 4]);
        } finally {
          await again.close();
        }
      });
    });
  });
}
