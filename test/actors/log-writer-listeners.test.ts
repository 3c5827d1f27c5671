/**
 * The log writer's listeners (`onAppended`, `onError`) are other code's: one that throws must not
 * count stored events as failed, stop later appends, reject `flush`, or end the process with an
 * unhandled rejection.
 */
import { describe, expect, it } from 'vitest';
import { createLogWriter } from '../../src/actors/log-writer.js';
import type { EventStore } from '../../src/store/event-store.js';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';

const meta = { recordedAt: '2030-01-01T00:00:00.000Z' };
const event = (n: number) => ({ type: 'noted', data: { n }, meta });

async function withUnhandled<T>(
  run: () => Promise<T>,
): Promise<{ value: T; unhandled: unknown[] }> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const value = await run();
    await new Promise((r) => setTimeout(r, 20));
    return { value, unhandled };
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
}

describe('log writer listeners', () => {
  it('a throwing onAppended leaves the events stored and counted, and the writer going', async () => {
    const store = createMemoryEventStore();
    const writer = createLogWriter(
      {},
      {
        store,
        onAppended: () => {
          throw new Error('listener bug');
        },
      },
    );
    const { unhandled } = await withUnhandled(async () => {
      writer.enqueue('s:1', event(1));
      await writer.flush();
      writer.enqueue('s:1', event(2));
      await writer.flush();
    });
    expect(unhandled).toEqual([]);
    expect((await store.readStream('s:1')).map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(writer.appendedCount).toBe(2);
    expect(writer.failedCount).toBe(0);
    expect(writer.listenerErrorCount).toBe(2);
  });

  it('a throwing onError after a failed append does not stop later appends or reject flush', async () => {
    const inner = createMemoryEventStore();
    let broken = true;
    const store: EventStore = {
      ...inner,
      append: (stream, events, options) =>
        broken ? Promise.reject(new Error('disk on fire')) : inner.append(stream, events, options),
    };
    const writer = createLogWriter(
      {},
      {
        store,
        onError: () => {
          throw new Error('listener bug');
        },
      },
    );
    const { unhandled } = await withUnhandled(async () => {
      writer.enqueue('s:1', event(1));
      await writer.flush();
      expect(writer.isFailing).toBe(true); // what /api/health reports as degraded
      broken = false;
      writer.enqueue('s:2', event(2));
      await writer.flush();
    });
    expect(unhandled).toEqual([]);
    expect(writer.failedCount).toBe(1);
    expect(writer.isFailing).toBe(false);
    expect((await inner.readStream('s:2')).map((e) => e.data)).toEqual([{ n: 2 }]);
    expect(writer.pending).toBe(0);
  });
});
