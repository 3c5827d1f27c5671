/**
 * The memory store's retention budget (`retainBytes`): what it keeps, what it drops, and that
 * versions, reads, subscriptions and listings keep the documented meaning after a drop.
 */
import fc from 'fast-check';
import { firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { AppError, VersionConflictError } from '../../src/errors.js';
import type { RecordedEvent } from '../../src/store/event-store.js';
import {
  createMemoryEventStore,
  type MemoryEventStore,
} from '../../src/store/memory-event-store.js';
import { openEventStore } from '../../src/store/open-event-store.js';
import { anEvent, describeEventStoreContract } from './event-store.contract.js';

// A budget the contract suite never reaches: the retaining code paths must pass it unchanged.
describeEventStoreContract('memory with retainBytes (budget not reached)', () => {
  const store = createMemoryEventStore({ retainBytes: 256 * 1024 * 1024 });
  return Promise.resolve({ store, cleanup: () => store.close() });
});

const padded = (n: number, type = 'T') => anEvent(type, { pad: 'x'.repeat(n) });
const positions = (es: readonly RecordedEvent[]): number[] => es.map((e) => e.position);
const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** Append `n` events of about `bytes` each, round-robin over `streams`. */
async function fill(
  store: MemoryEventStore,
  n: number,
  bytes: number,
  streams: readonly string[],
): Promise<void> {
  for (let i = 0; i < n; i++)
    await store.append(streams[i % streams.length] as string, [padded(bytes)]);
}

describe('memory event store retention', () => {
  it('keeps every event by default', async () => {
    const store = createMemoryEventStore();
    await fill(store, 2_000, 1_000, ['a', 'b']);
    expect(await store.firstPosition()).toBe(1);
    expect(await store.readAll()).toHaveLength(2_000);
    expect(store.retention()).toMatchObject({
      retainBytes: 0,
      heldEvents: 2_000,
      droppedEvents: 0,
      firstPosition: 1,
    });
    expect(store.retention().heldBytes).toBeGreaterThan(2_000 * 1_000);
    await store.close();
  });

  it('stays within the budget after every append', async () => {
    const budget = 20_000;
    const store = createMemoryEventStore({ retainBytes: budget });
    for (let i = 0; i < 1_000; i++) {
      await store.append(`s${i % 7}`, [padded((i * 37) % 400)]);
      const r = store.retention();
      expect(r.heldBytes).toBeLessThanOrEqual(budget);
      expect(r.heldEvents + r.droppedEvents).toBe(i + 1);
    }
    expect(store.retention().droppedEvents).toBeGreaterThan(0);
    await store.close();
  });

  it('drops the oldest positions first, across streams', async () => {
    const store = createMemoryEventStore({ retainBytes: 10_000 });
    await fill(store, 300, 200, ['a', 'b', 'c']);
    const first = await store.firstPosition();
    expect(first).toBeGreaterThan(1);
    expect(store.retention()).toMatchObject({ firstPosition: first, droppedEvents: first - 1 });
    expect(await store.headPosition()).toBe(300);
    expect(positions(await store.readAll())).toEqual(range(first, 300));
    expect(positions(await store.readAll({ after: first + 5, limit: 3 }))).toEqual(
      range(first + 6, first + 8),
    );
    expect(positions(await store.readAll({ streamPrefix: 'b' }))).toEqual(
      range(first, 300).filter((p) => (p - 1) % 3 === 1),
    );
    await store.close();
  });

  it('drops down to about 90 % of the budget, so a full log does not drop on every append', async () => {
    const budget = 50_000;
    const store = createMemoryEventStore({ retainBytes: budget });
    let drops = 0;
    let dropped = 0;
    for (let i = 0; i < 2_000; i++) {
      await store.append('s', [padded(300)]);
      const r = store.retention();
      if (r.droppedEvents > dropped) {
        drops++;
        expect(r.heldBytes).toBeLessThanOrEqual(budget * 0.9);
      }
      dropped = r.droppedEvents;
    }
    expect(dropped).toBeGreaterThan(1_500);
    expect(drops).toBeLessThan(dropped / 10);
    await store.close();
  });

  it('keeps versions and expectedVersion checks counting dropped events', async () => {
    const store = createMemoryEventStore({ retainBytes: 5_000 });
    await fill(store, 200, 100, ['a', 'b']);
    const first = await store.firstPosition();
    expect(first).toBeGreaterThan(10);
    expect(await store.streamVersion('a')).toBe(100);
    await expect(store.append('a', [anEvent('T')], { expectedVersion: 99 })).rejects.toBeInstanceOf(
      VersionConflictError,
    );
    await expect(store.append('a', [anEvent('T')], { expectedVersion: 0 })).rejects.toBeInstanceOf(
      VersionConflictError,
    );
    await expect(store.append('a', [anEvent('T')], { expectedVersion: 100 })).resolves.toEqual({
      version: 101,
      firstPosition: 201,
      lastPosition: 201,
    });
    const a = await store.readStream('a');
    expect(a.at(-1)).toMatchObject({ version: 101, position: 201 });
    expect(a.map((e) => e.version)).toEqual(range(a[0]?.version ?? 0, 101));
    expect(a.every((e) => e.position >= first)).toBe(true);
    // A window that starts among the dropped versions starts at the oldest held one.
    expect(await store.readStream('a', { afterVersion: 1 })).toEqual(a);
    expect(
      (await store.readStream('a', { afterVersion: 98, limit: 2 })).map((e) => e.version),
    ).toEqual([99, 100]);
    await store.close();
  });

  it('lists every stream with its true version and last position, even when all its events are gone', async () => {
    const store = createMemoryEventStore({ retainBytes: 3_000 });
    await store.append('old', [anEvent('T'), anEvent('T')]);
    await fill(store, 100, 100, ['new']);
    expect(await store.firstPosition()).toBeGreaterThan(3);
    expect(await store.readStream('old')).toEqual([]);
    expect(await store.streamVersion('old')).toBe(2);
    expect(await store.listStreams()).toEqual([
      { stream: 'new', version: 100, lastPosition: 102 },
      { stream: 'old', version: 2, lastPosition: 2 },
    ]);
    await expect(
      store.append('old', [anEvent('T')], { expectedVersion: 2 }),
    ).resolves.toMatchObject({
      version: 3,
    });
    expect(await store.readStream('old')).toEqual([
      expect.objectContaining({ stream: 'old', version: 3, position: 103 }),
    ]);
    await store.close();
  });

  it('starts a subscription from below the first held position at the first held event', async () => {
    const store = createMemoryEventStore({ retainBytes: 5_000 });
    await fill(store, 100, 100, ['a', 'b']);
    const first = await store.firstPosition();
    expect(first).toBeGreaterThan(1);
    const fromStart = firstValueFrom(store.subscribe({ after: 0 }).pipe(take(3), toArray()));
    expect(positions(await fromStart)).toEqual([first, first + 1, first + 2]);
    const fromInside = firstValueFrom(store.subscribe({ after: first + 1 }).pipe(take(1)));
    expect((await fromInside).position).toBe(first + 2);
    const byPrefix = firstValueFrom(store.subscribe({ streamPrefix: 'b' }).pipe(take(1)));
    expect((await byPrefix).position).toBe(first % 2 === 0 ? first : first + 1);
    await store.close();
  });

  it('holds an event larger than the whole budget alone, until the next append', async () => {
    const store = createMemoryEventStore({ retainBytes: 2_000 });
    await fill(store, 5, 100, ['s']);
    await store.append('big', [padded(10_000)]);
    expect(positions(await store.readAll())).toEqual([6]);
    expect(await store.firstPosition()).toBe(6);
    expect(store.retention()).toMatchObject({ heldEvents: 1, droppedEvents: 5 });
    expect(store.retention().heldBytes).toBeGreaterThan(2_000);
    await store.append('s', [padded(10)]);
    expect(positions(await store.readAll())).toEqual([7]);
    expect(store.retention().heldBytes).toBeLessThanOrEqual(2_000);
    await store.close();
  });

  it('delivers every event of an over-budget append to live subscribers, then keeps its newest', async () => {
    const store = createMemoryEventStore({ retainBytes: 2_000 });
    const live: number[] = [];
    const sub = store.subscribe().subscribe((e) => live.push(e.position));
    await store.append(
      's',
      Array.from({ length: 50 }, () => padded(200)),
    );
    expect(live).toEqual(range(1, 50));
    const held = positions(await store.readAll());
    expect(held.at(-1)).toBe(50);
    expect(held.length).toBeLessThan(50);
    expect(held).toEqual(range(await store.firstPosition(), 50));
    sub.unsubscribe();
    await store.close();
  });

  it('forgets a finished stream once all its events are dropped, and keeps an unfinished one', async () => {
    const store = createMemoryEventStore({ retainBytes: 4_000 });
    const done = { recordedAt: 'now', status: 'done' };
    await store.append('session:a', [anEvent('T'), { type: 'T', data: {}, meta: done }]);
    await store.append('session:b', [anEvent('T')]); // still running
    for (let i = 0; i < 40; i++) await store.append('busy', [padded(200)]);
    const names = (await store.listStreams()).map((s) => s.stream);
    expect(names).not.toContain('session:a');
    expect(await store.streamVersion('session:a')).toBe(0);
    expect(names).toContain('session:b');
    expect(await store.streamVersion('session:b')).toBe(1);
    // A finished stream that still holds events is listed as usual.
    await store.append('session:c', [{ type: 'T', data: {}, meta: done }]);
    expect((await store.listStreams()).map((s) => s.stream)).toContain('session:c');
  });

  it('lets every live subscriber see an event a subscriber appended from its own callback before it is dropped', async () => {
    const store = createMemoryEventStore({ retainBytes: 5_000 });
    const seenA: number[] = [];
    const seenB: number[] = [];
    let fired = false;
    store.subscribe({ after: 0 }).subscribe((e) => {
      seenA.push(e.position);
      if (e.position === 1 && !fired) {
        fired = true;
        // two appends from inside the callback; the second takes the log over its budget
        void store.append('x', [padded(3_000)]);
        void store.append('x', [padded(3_000)]);
      }
    });
    store.subscribe({ after: 0 }).subscribe((e) => seenB.push(e.position));
    await store.append('x', [padded(10)]);
    await new Promise((r) => setTimeout(r, 20));
    expect(seenA).toEqual([1, 2, 3]);
    expect(seenB).toEqual([1, 2, 3]);
    expect(await store.firstPosition()).toBeGreaterThan(1); // and it did drop afterwards
  });

  it('lets a subscriber still catching up skip ahead when the events it has not seen are dropped', async () => {
    const store = createMemoryEventStore({ retainBytes: 2_000_000 });
    for (let i = 0; i < 10_000; i++) await store.append('s', [anEvent('T')]);
    expect(await store.firstPosition()).toBe(1);
    const seen: number[] = [];
    const sub = store.subscribe().subscribe((e) => seen.push(e.position));
    // One slice was delivered at subscribe; this append pumps one more, then drops far beyond.
    await store.append(
      's',
      Array.from({ length: 30_000 }, () => anEvent('T')),
    );
    const first = await store.firstPosition();
    expect(first).toBeGreaterThan(8_193);
    for (let i = 0; i < 100 && seen.at(-1) !== 40_000; i++) {
      await new Promise((r) => setImmediate(r));
    }
    sub.unsubscribe();
    expect(seen).toEqual([...range(1, 8_192), ...range(first, 40_000)]);
    await store.close();
  });

  it('compacts its arrays and still reads correctly over a long run', async () => {
    const store = createMemoryEventStore({ retainBytes: 20_000 });
    const streams = ['a', 'b', 'c'];
    const versions = new Map<string, number>();
    for (let i = 1; i <= 30_000; i++) {
      const s = streams[i % 3 === 0 ? 0 : i % 7 === 0 ? 1 : 2] as string;
      await store.append(s, [anEvent('T', { i })]);
      versions.set(s, (versions.get(s) ?? 0) + 1);
      if (i % 5_000 !== 0) continue;
      const first = await store.firstPosition();
      const all = await store.readAll();
      expect(positions(all)).toEqual(range(first, i));
      expect(all.map((e) => e.data.i)).toEqual(range(first, i));
      for (const name of streams) {
        const held = await store.readStream(name);
        expect(held).toEqual(all.filter((e) => e.stream === name));
        expect(held.at(-1)?.version ?? versions.get(name)).toBe(versions.get(name));
        expect(await store.streamVersion(name)).toBe(versions.get(name));
      }
    }
    await store.close();
  });

  it('reports ERR_INVALID_ARGUMENT for a budget that is not a whole number of bytes', () => {
    for (const retainBytes of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      let err: unknown;
      try {
        createMemoryEventStore({ retainBytes });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('ERR_INVALID_ARGUMENT');
    }
  });

  it('is opened with a budget through openEventStore', async () => {
    const store = await openEventStore('memory', { memory: { retainBytes: 3_000 } });
    for (let i = 0; i < 50; i++) await store.append('s', [padded(100)]);
    expect(await store.firstPosition()).toBeGreaterThan(1);
    expect(store.retention?.()).toMatchObject({ retainBytes: 3_000 });
    await store.close();
  });
});

describe('memory event store retention (property)', () => {
  interface Op {
    readonly stream: number;
    readonly count: number;
    readonly pad: number;
  }
  const op: fc.Arbitrary<Op> = fc.record({
    stream: fc.integer({ min: 0, max: 3 }),
    count: fc.integer({ min: 1, max: 4 }),
    pad: fc.integer({ min: 0, max: 400 }),
  });

  it('matches a keep-everything model on the held suffix, and keeps versions whole', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 300, max: 6_000 }),
        fc.array(op, { maxLength: 60 }),
        async (budget, ops) => {
          const store = createMemoryEventStore({ retainBytes: budget });
          const model: Array<{ stream: string; version: number; position: number; pad: number }> =
            [];
          const versions = new Map<string, number>();
          let lastFirst = 1;
          try {
            for (const o of ops) {
              const stream = `s${o.stream}`;
              const v = versions.get(stream) ?? 0;
              const r = await store.append(
                stream,
                Array.from({ length: o.count }, () => padded(o.pad)),
                { expectedVersion: v },
              );
              for (let i = 0; i < o.count; i++) {
                model.push({ stream, version: v + i + 1, position: model.length + 1, pad: o.pad });
              }
              versions.set(stream, v + o.count);
              expect(r.version).toBe(v + o.count);

              const head = await store.headPosition();
              const first = await store.firstPosition();
              const ret = store.retention();
              expect(head).toBe(model.length);
              expect(first).toBeGreaterThanOrEqual(lastFirst);
              expect(first).toBeLessThanOrEqual(head);
              expect(ret).toMatchObject({
                retainBytes: budget,
                firstPosition: first,
                droppedEvents: first - 1,
                heldEvents: head - first + 1,
              });
              expect(ret.heldBytes <= budget || ret.heldEvents === 1).toBe(true);
              if (first > lastFirst) {
                expect(ret.heldBytes <= Math.floor(budget * 0.9) || ret.heldEvents === 1).toBe(
                  true,
                );
              }
              lastFirst = first;

              const held = model.slice(first - 1);
              const shape = (e: RecordedEvent) => ({
                stream: e.stream,
                version: e.version,
                position: e.position,
                pad: (e.data.pad as string).length,
              });
              expect((await store.readAll()).map(shape)).toEqual(held);
              const live: RecordedEvent[] = [];
              store
                .subscribe()
                .subscribe((e) => live.push(e))
                .unsubscribe();
              expect(live.map(shape)).toEqual(held);
              for (const [s, version] of versions) {
                expect(await store.streamVersion(s)).toBe(version);
                expect((await store.readStream(s)).map(shape)).toEqual(
                  held.filter((e) => e.stream === s),
                );
              }
              expect(await store.listStreams()).toEqual(
                [...versions.keys()].sort().map((s) => ({
                  stream: s,
                  version: versions.get(s),
                  lastPosition: model.filter((e) => e.stream === s).at(-1)?.position,
                })),
              );
            }
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
