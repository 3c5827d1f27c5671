/**
 * The in-process view of a log that the memory and file stores share: every recorded event by
 * global position and by stream. It only holds events that are committed (for the file store:
 * durable), and it is the single source for reads and subscriptions.
 *
 * Events are frozen on the way in, so reads hand out the stored objects themselves (no copies).
 *
 * **Retention** (memory store only; the file store never sets it): with `retainBytes`, the index
 * keeps the newest events whose estimated JSON size sums to at most that budget and drops the
 * oldest ones, lowest position first. Dropping runs when an append takes the log over budget and
 * goes down to 90 % of it, so a full log drops once per ~10 % of the budget, not on every append.
 * Dropped slots are cleared at once (their events can be collected) and the arrays are compacted
 * when at least half of them is dead: amortized O(1) per event. The newest event is never
 * dropped, so an event larger than the whole budget is held alone until the next append.
 * Each stream keeps its version and last position forever (versions count dropped events too).
 */
import type { EventStore, LogRetention, RecordedEvent, StreamInfo } from './event-store.js';
import type { FrozenEvent } from './event-data.js';
import { allWindow, settle, streamWindow } from './store-guards.js';

export interface LogIndexInit {
  /** Keep the newest events whose estimated size sums to at most this many bytes (0: all). */
  readonly retainBytes?: number;
}

export interface LogIndex {
  /** Position of the last event (0 when empty). */
  readonly head: number;
  /** Position of the oldest event held: 1 unless retention dropped older ones (then ≤ head). */
  readonly first: number;
  /** The event at position `p`, or `undefined` when it was dropped or is beyond the head. */
  at(position: number): RecordedEvent | undefined;
  version(stream: string): number;
  /**
   * Add events that continue the log (positions `head + 1…`, versions continue their stream).
   * `estimatedBytes`: the estimated JSON size of their data and meta (see `freezeEventsSized`).
   */
  add(events: readonly RecordedEvent[], estimatedBytes?: number): void;
  /**
   * Drop the oldest events while the log is over its retention budget (no-op without one). Call
   * it after subscribers were handed the new events, so live ones never miss an event.
   */
  trim(): void;
  readStream(stream: string, after: number, limit: number): RecordedEvent[];
  readAll(after: number, limit: number, prefix: string): RecordedEvent[];
  listStreams(prefix: string): StreamInfo[];
  retention(): LogRetention;
}

/** What a stream keeps: its true version and last position, and its held events. */
interface StreamEntry {
  version: number;
  lastPosition: number;
  /** `events[start…]` are the stream's held events (a suffix of it); older slots are cleared. */
  events: Array<RecordedEvent | undefined>;
  start: number;
  /** Its last event recorded a final state (`meta.status: done`): nothing more will come. */
  isDone: boolean;
}

/** Bytes an event costs beyond the estimate of its data and meta (keys, numbers, punctuation). */
const EVENT_OVERHEAD = 64;
/** Compact an array only once this many slots are dead (and at least half of it is). */
const MIN_COMPACT = 1_024;
const MIN_COMPACT_STREAM = 64;

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
 * An empty index, optionally with a retention budget.
 *
 * @example
 * const index = createLogIndex();
 * index.add(recordEvents('room:r1', 1, 1, frozen));
 */
export function createLogIndex(init: LogIndexInit = {}): LogIndex {
  const retainBytes = init.retainBytes ?? 0;
  const isRetaining = retainBytes > 0;
  const trimTo = Math.floor(retainBytes * 0.9);
  /** `buf[i]` is the event at position `base + 1 + i`; slots below `first` are cleared. */
  let buf: Array<RecordedEvent | undefined> = [];
  /** Estimated size of `buf[i]` (kept only with retention). */
  let sizes: number[] = [];
  let base = 0;
  let first = 1;
  let heldBytes = 0;
  const streams = new Map<string, StreamEntry>();

  function dropOldest(): void {
    const i = first - 1 - base;
    const e = buf[i] as RecordedEvent;
    heldBytes -= sizes[i] as number;
    buf[i] = undefined;
    first++;
    const s = streams.get(e.stream) as StreamEntry;
    s.events[s.start++] = undefined;
    if (s.start === s.events.length) {
      // A finished stream with nothing held is forgotten outright (each handshake and session has
      // its own stream: keeping an entry per stream ever written would grow without bound).
      if (s.isDone) streams.delete(e.stream);
      s.events = [];
      s.start = 0;
    } else if (s.start >= MIN_COMPACT_STREAM && s.start * 2 >= s.events.length) {
      s.events = s.events.slice(s.start);
      s.start = 0;
    }
  }

  return {
    get head() {
      return base + buf.length;
    },
    get first() {
      return first;
    },
    at(position) {
      return position >= first ? buf[position - 1 - base] : undefined;
    },
    version(stream) {
      return streams.get(stream)?.version ?? 0;
    },
    add(events, estimatedBytes = 0) {
      const n = events.length;
      const share = n > 0 ? Math.floor(estimatedBytes / n) : 0;
      let rest = estimatedBytes - share * n;
      for (const e of events) {
        let s = streams.get(e.stream);
        if (!s) {
          s = { version: 0, lastPosition: 0, events: [], start: 0, isDone: false };
          streams.set(e.stream, s);
        }
        // Invariants the stores guarantee; a breach is a bug, never a user error.
        if (e.position !== base + buf.length + 1 || e.version !== s.version + 1) {
          throw new Error(
            `log index: ${e.stream}@${e.version} at position ${e.position} does not continue the log`,
          );
        }
        s.events.push(e);
        s.version = e.version;
        s.lastPosition = e.position;
        s.isDone = e.meta.status === 'done';
        buf.push(e);
        const size = share + rest + EVENT_OVERHEAD + e.stream.length + e.type.length;
        rest = 0;
        heldBytes += size;
        if (isRetaining) sizes.push(size);
      }
    },
    trim() {
      if (!isRetaining || heldBytes <= retainBytes) return;
      const head = base + buf.length;
      while (heldBytes > trimTo && first < head) dropOldest();
      const dead = first - 1 - base;
      if (dead >= MIN_COMPACT && dead * 2 >= buf.length) {
        buf = buf.slice(dead);
        sizes = sizes.slice(dead);
        base += dead;
      }
    },
    readStream(stream, after, limit) {
      const s = streams.get(stream);
      if (!s || limit === 0) return [];
      const firstVersion = s.version - (s.events.length - s.start) + 1;
      const from = s.start + Math.max(0, after - firstVersion + 1);
      return s.events.slice(from, from + limit) as RecordedEvent[];
    },
    readAll(after, limit, prefix) {
      if (limit === 0) return [];
      const from = Math.max(after, first - 1) - base;
      if (prefix === '') return buf.slice(from, from + limit) as RecordedEvent[];
      const out: RecordedEvent[] = [];
      for (let i = from; i < buf.length && out.length < limit; i++) {
        const e = buf[i] as RecordedEvent;
        if (e.stream.startsWith(prefix)) out.push(e);
      }
      return out;
    },
    listStreams(prefix) {
      const out: StreamInfo[] = [];
      for (const [stream, s] of streams) {
        if (!stream.startsWith(prefix)) continue;
        out.push({ stream, version: s.version, lastPosition: s.lastPosition });
      }
      return out.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
    },
    retention() {
      return {
        retainBytes,
        heldBytes,
        heldEvents: base + buf.length - (first - 1),
        droppedEvents: first - 1,
        firstPosition: first,
      };
    },
  };
}

/** The read half of `EventStore`, served from an index (shared by the memory and file stores). */
export type IndexReads = Pick<
  EventStore,
  'readStream' | 'readAll' | 'streamVersion' | 'listStreams' | 'headPosition' | 'firstPosition'
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
    firstPosition: () => guard(() => index.first),
  };
}
