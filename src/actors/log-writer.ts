/**
 * The single writer between actors and the event store. Transitions happen synchronously; their
 * records are queued here and appended once per tick, one append per stream, in order, with the
 * stream's expected version (optimistic concurrency). The queue is the backpressure point: past
 * its high-water mark `isOverloaded` turns on so transports can shed UDP and answer HTTP 503.
 */
import { performance } from 'node:perf_hooks';
import { isAppError, VersionConflictError } from '../errors.js';
import type { EventStore, NewEvent, RecordedEvent } from '../store/event-store.js';
import { createLatencyHistogram, type HistogramSnapshot } from './latency-histogram.js';

export interface LogWriterInit {
  /** Pending events above which `isOverloaded` is true (default 50 000). */
  readonly highWaterMark?: number;
}

export interface LogWriterDeps {
  readonly store: EventStore;
  readonly onAppended?: (events: readonly RecordedEvent[]) => void;
  readonly onError?: (err: { stream: string; code: string; message: string }) => void;
  /** Monotonic milliseconds, for the append latency (default `performance.now`). */
  readonly clock?: () => number;
}

export interface LogWriter {
  enqueue(stream: string, event: NewEvent): void;
  /** Resolves when everything enqueued so far is appended (and durable, for durable stores). */
  flush(): Promise<void>;
  readonly pending: number;
  readonly isOverloaded: boolean;
  readonly appendedCount: number;
  readonly failedCount: number;
  /** Calls of `onAppended`/`onError` that threw: the events stay stored, the writer goes on. */
  readonly listenerErrorCount: number;
  /** The last append failed and none has succeeded since (a full disk, a store gone). */
  readonly isFailing: boolean;
  /** Seconds each successful `store.append` took (one per stream batch; durable when it resolves). */
  readonly appendLatency: HistogramSnapshot;
}

export function createLogWriter(init: LogWriterInit, deps: LogWriterDeps): LogWriter {
  const highWaterMark = init.highWaterMark ?? 50_000;
  const queues = new Map<string, NewEvent[]>();
  const versions = new Map<string, number>();
  let pending = 0;
  let appended = 0;
  let failed = 0;
  /** Listener calls that threw (counted, never rethrown into the writer). */
  let listenerErrors = 0;
  /** The last append failed and none has succeeded since: the log is not keeping up. */
  let isFailing = false;
  let scheduled = false;
  let inFlight: Promise<void> = Promise.resolve();
  const clock = deps.clock ?? (() => performance.now());
  const latency = createLatencyHistogram();

  /**
   * Tell a listener; a listener that throws is its own bug, not the log's: it must neither turn
   * stored events into failed ones nor stop the writer.
   */
  function tell<T>(listener: ((arg: T) => void) | undefined, arg: T): void {
    if (!listener) return;
    try {
      listener(arg);
    } catch {
      listenerErrors += 1;
    }
  }

  async function appendStream(stream: string, events: NewEvent[]): Promise<void> {
    let r: { version: number; firstPosition: number };
    try {
      const version = versions.get(stream) ?? (await deps.store.streamVersion(stream));
      const started = clock();
      r = await deps.store.append(stream, events, { expectedVersion: version });
      latency.observe((clock() - started) / 1000);
    } catch (err) {
      if (err instanceof VersionConflictError) {
        // Someone else wrote to a stream this process owns. The events still happened: record
        // them after the foreign ones, and say so loudly.
        tell(deps.onError, { stream, code: err.code, message: err.message });
        versions.set(stream, err.actual);
        return appendStream(stream, events);
      }
      failed += events.length;
      isFailing = true;
      versions.delete(stream);
      tell(deps.onError, {
        stream,
        code: isAppError(err) ? err.code : 'ERR_STORE_UNAVAILABLE',
        message: err instanceof Error ? err.message : String(err),
      });
      return;
    }
    // A stream whose actor reached a final state gets nothing more: forget its version (else one
    // entry per handshake and session ever run would stay here).
    if (events.at(-1)?.meta.status === 'done') versions.delete(stream);
    else versions.set(stream, r.version);
    appended += events.length;
    isFailing = false;
    if (deps.onAppended) {
      tell(
        deps.onAppended,
        events.map((e, i) => ({
          ...e,
          stream,
          version: r.version - events.length + 1 + i,
          position: r.firstPosition + i,
        })),
      );
    }
  }

  function drain(): void {
    scheduled = false;
    const batch = [...queues.entries()];
    queues.clear();
    const prev = inFlight;
    // Never rejects: appendStream reports failures itself, and one batch must not stop the next.
    inFlight = (async () => {
      await prev;
      await Promise.allSettled(
        batch.map(async ([stream, events]) => {
          try {
            await appendStream(stream, events);
          } finally {
            pending -= events.length;
          }
        }),
      );
    })();
  }

  return {
    enqueue(stream, event) {
      let q = queues.get(stream);
      if (!q) {
        q = [];
        queues.set(stream, q);
      }
      q.push(event);
      pending += 1;
      if (!scheduled) {
        scheduled = true;
        setImmediate(drain);
      }
    },
    async flush() {
      if (scheduled) drain();
      await inFlight;
      await deps.store.flush();
    },
    get pending() {
      return pending;
    },
    get isOverloaded() {
      return pending > highWaterMark;
    },
    get appendedCount() {
      return appended;
    },
    get failedCount() {
      return failed;
    },
    get listenerErrorCount() {
      return listenerErrors;
    },
    get isFailing() {
      return isFailing;
    },
    get appendLatency() {
      return latency.snapshot();
    },
  };
}
