import { describe, expect, it } from 'vitest';
import { createLatencyHistogram } from '../../src/actors/latency-histogram.js';
import { createLogWriter } from '../../src/actors/log-writer.js';
import type { EventStore } from '../../src/store/event-store.js';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';

const meta = { recordedAt: 't' };

describe('latency histogram', () => {
  it('counts cumulatively per bound and keeps sum and count', () => {
    const h = createLatencyHistogram([0.01, 0.1, 1]);
    for (const s of [0.005, 0.05, 0.05, 5, Number.NaN, -1]) h.observe(s);
    expect(h.snapshot()).toEqual({
      buckets: [
        { le: 0.01, count: 1 },
        { le: 0.1, count: 3 },
        { le: 1, count: 3 },
      ],
      sum: 5.105,
      count: 4,
    });
  });
});

describe('log writer append latency', () => {
  it('observes each batched append, measured around the store call', async () => {
    const inner = createMemoryEventStore();
    let now = 0;
    const slow: EventStore = {
      ...inner,
      streamVersion: (s) => inner.streamVersion(s),
      append: async (s, e, o) => {
        now += 30; // the store takes 30 ms
        return inner.append(s, e, o);
      },
      flush: () => inner.flush(),
    };
    const writer = createLogWriter({}, { store: slow, clock: () => now });
    writer.enqueue('a', { type: 'x', data: {}, meta });
    writer.enqueue('a', { type: 'y', data: {}, meta });
    await writer.flush();
    writer.enqueue('b', { type: 'x', data: {}, meta });
    await writer.flush();
    const h = writer.appendLatency;
    expect(h.count).toBe(2); // one append per stream per tick: a's two events went in one
    expect(h.sum).toBeCloseTo(0.06, 6);
    expect(h.buckets.find((b) => b.le === 0.025)?.count).toBe(0);
    expect(h.buckets.find((b) => b.le === 0.05)?.count).toBe(2);
  });
});

describe('log writer version cache', () => {
  it('forgets the version of a stream whose actor finished, and asks the store if it ever goes on', async () => {
    const inner = createMemoryEventStore();
    const asked: string[] = [];
    const store: EventStore = {
      ...inner,
      streamVersion: (s) => {
        asked.push(s);
        return inner.streamVersion(s);
      },
    };
    const writer = createLogWriter({}, { store });
    writer.enqueue('live', { type: 'x', data: {}, meta: { ...meta, status: 'active' } });
    writer.enqueue('done', { type: 'x', data: {}, meta: { ...meta, status: 'done' } });
    await writer.flush();
    writer.enqueue('live', { type: 'y', data: {}, meta: { ...meta, status: 'active' } });
    writer.enqueue('done', { type: 'y', data: {}, meta: { ...meta, status: 'active' } });
    await writer.flush();
    // each stream asked once at first; only the finished one asked again
    expect(asked.sort()).toEqual(['done', 'done', 'live']);
    expect(await inner.streamVersion('done')).toBe(2);
    expect(writer.failedCount).toBe(0);
  });
});
