import { firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';
import { anEvent, describeEventStoreContract } from './event-store.contract.js';

describeEventStoreContract('memory', () => {
  const store = createMemoryEventStore();
  return Promise.resolve({ store, cleanup: () => store.close() });
});

describe('memory event store', () => {
  it('hands out deep-frozen events', async () => {
    const store = createMemoryEventStore();
    await store.append('s', [anEvent('T', { nested: { list: [1] } })]);
    const [e] = await store.readStream('s');
    expect(Object.isFrozen(e)).toBe(true);
    expect(Object.isFrozen(e?.data)).toBe(true);
    expect(Object.isFrozen((e?.data as { nested: { list: number[] } }).nested.list)).toBe(true);
    await store.close();
  });

  it('stores only type, data and meta of what it is given', async () => {
    const store = createMemoryEventStore();
    const sneaky = { ...anEvent('T'), position: 99, version: 7, stream: 'other' };
    await store.append('s', [sneaky]);
    const [e] = await store.readStream('s');
    expect(e).toMatchObject({ stream: 's', version: 1, position: 1 });
    await store.close();
  });

  it('names the offending path of unsupported data', async () => {
    const store = createMemoryEventStore();
    const err = await store
      .append('s', [{ type: 'T', data: { a: [{ b: 1n }] }, meta: { recordedAt: 'x' } }])
      .catch((e: unknown) => e);
    expect((err as Error).message).toContain('events[0].data.a[0].b');
    await store.close();
  });

  it('delivers a catch-up longer than one slice in order while appends continue', async () => {
    const store = createMemoryEventStore();
    for (let i = 0; i < 10_000; i++) await store.append(`s${i % 10}`, [anEvent('T')]);
    const got = firstValueFrom(store.subscribe().pipe(take(10_010), toArray()));
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setImmediate(r));
      await store.append('late', [anEvent('T')]);
    }
    expect((await got).map((e) => e.position)).toEqual(
      Array.from({ length: 10_010 }, (_, i) => i + 1),
    );
    await store.close();
  });
});
