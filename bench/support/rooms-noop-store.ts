/**
 * A no-op event store for `bench/rooms.bench.ts` (perf-ceilings T5): appends are accepted and
 * counted with the versions and positions a real store would hand out, but nothing is kept and
 * every read is empty. It is the "event log costs nothing" end of the log-overhead comparison.
 */
import { Observable } from 'rxjs';
import type {
  AppendResult,
  EventStore,
  NewEvent,
  RecordedEvent,
} from '../../src/store/event-store.js';

export function createNoopEventStore(): EventStore {
  const versions = new Map<string, number>();
  let head = 0;
  const closers = new Set<() => void>();
  return {
    kind: 'memory',
    description: 'noop (bench)',
    append(stream: string, events: readonly NewEvent[]): Promise<AppendResult> {
      const version = (versions.get(stream) ?? 0) + events.length;
      versions.set(stream, version);
      const firstPosition = head + 1;
      head += events.length;
      return Promise.resolve({ version, firstPosition, lastPosition: head });
    },
    readStream: () => Promise.resolve([]),
    readAll: () => Promise.resolve([]),
    subscribe: () =>
      new Observable<RecordedEvent>((sub) => {
        const done = (): void => sub.complete();
        closers.add(done);
        return () => closers.delete(done);
      }),
    streamVersion: (stream) => Promise.resolve(versions.get(stream) ?? 0),
    listStreams: () => Promise.resolve([]),
    headPosition: () => Promise.resolve(head),
    firstPosition: () => Promise.resolve(1),
    flush: () => Promise.resolve(),
    close() {
      for (const c of [...closers]) c();
      return Promise.resolve();
    },
  };
}
