/**
 * The in-process view of a log that the memory and file stores share: every recorded event by
 * global position and by stream. It only holds events that are committed (for the file store:
 * durable), and it is the single source for reads and subscriptions.
 *
 * Events are frozen on the way in, so reads hand out the stored objects themselves (no copies).
 */
import type { EventStore, RecordedEvent, StreamInfo } from './event-store.js';
import type { FrozenEvent } from './event-data.js';
import { allWindow, settle, streamWindow } from './store-guards.js';

export interface LogIndex {
  /** Position of the last event (0 when empty). */
  readonly head: number;
  /** `all[p - 1]` is the event at position `p`. Read-only for callers. */
  readonly all: readonly RecordedEvent[];
  version(stream: string): number;
  /** Add events that continue the log (positions `head + 1…`, versions continue their stream). */
  add(events: readonly RecordedEvent[]): void;
  readStream(stream: string, after: number, limit: number): RecordedEvent[];
  readAll(after: number, limit: number, prefix: string): RecordedEvent[];
  listStreams(prefix: string): StreamInfo[];
}

/**
 * Turn validated events into frozen recorded events of `stream`, starting at `fromVersion` and
 * global position `firstPosition`.
 *
 * @example
 * const recorded = recordEvents('room:r1', 1, index.head + 1, freezeEvents('room:r1', events));
 */
export function recordEvents(
  stream: string,
  fromVersion: number,
  firstPosition: number,
  events: readonly FrozenEvent[],
): RecordedEvent[] {
  const out = new Array<RecordedEvent>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as FrozenEvent;
    out[i] = Object.freeze({
      stream,
      version: fromVersion + i,
      position: firstPosition + i,
      type: e.type,
      data: e.data,
      meta: e.meta,
    });
  }
  return out;
}

/**
 * An empty index.
 *
 * @example
 * const index = createLogIndex();
 * index.add(recordEvents('room:r1', 1, 1, frozen));
 */
export function createLogIndex(): LogIndex {
  const all: RecordedEvent[] = [];
  const streams = new Map<string, RecordedEvent[]>();

  return {
    get head() {
      return all.length;
    },
    all,
    version(stream) {
      return streams.get(stream)?.length ?? 0;
    },
    add(events) {
      for (const e of events) {
        let list = streams.get(e.stream);
        if (!list) {
          list = [];
          streams.set(e.stream, list);
        }
        // Invariants the stores guarantee; a breach is a bug, never a user error.
        if (e.position !== all.length + 1 || e.version !== list.length + 1) {
          throw new Error(
            `log index: ${e.stream}@${e.version} at position ${e.position} does not continue the log`,
          );
        }
        list.push(e);
        all.push(e);
      }
    },
    readStream(stream, after, limit) {
      const list = streams.get(stream);
      if (!list || limit === 0) return [];
      return list.slice(after, after + limit);
    },
    readAll(after, limit, prefix) {
      if (limit === 0) return [];
      if (prefix === '') return all.slice(after, after + limit);
      const out: RecordedEvent[] = [];
      for (let i = after; i < all.length && out.length < limit; i++) {
        const e = all[i] as RecordedEvent;
        if (e.stream.startsWith(prefix)) out.push(e);
      }
      return out;
    },
    listStreams(prefix) {
      const out: StreamInfo[] = [];
      for (const [stream, list] of streams) {
        if (!stream.startsWith(prefix)) continue;
        const last = list[list.length - 1] as RecordedEvent;
        out.push({ stream, version: list.length, lastPosition: last.position });
      }
      return out.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
    },
  };
}

/** The read half of `EventStore`, served from an index (shared by the memory and file stores). */
export type IndexReads = Pick<
  EventStore,
  'readStream' | 'readAll' | 'streamVersion' | 'listStreams' | 'headPosition'
>;

/**
 * @example
 * const store = { ...indexReads(index, assertOpen), append, subscribe, flush, close };
 */
export function indexReads(index: LogIndex, assertOpen: () => void): IndexReads {
  const guard = <T>(work: () => T): Promise<T> =>
    settle(() => {
      assertOpen();
      return work();
    });
  return {
    readStream: (stream, options) =>
      guard(() => {
        const { after, limit } = streamWindow(options);
        return index.readStream(stream, after, limit);
      }),
    readAll: (options) =>
      guard(() => {
        const { after, limit, prefix } = allWindow(options);
        return index.readAll(after, limit, prefix);
      }),
    streamVersion: (stream) => guard(() => index.version(stream)),
    listStreams: (prefix) => guard(() => index.listStreams(prefix ?? '')),
    headPosition: () => guard(() => index.head),
  };
}
