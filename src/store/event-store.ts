import type { Observable } from 'rxjs';

/**
 * The event-log contract every store implements (memory, file, mongodb).
 *
 * Streams are named `peer:<id>`, `session:<peerId>:<sessionId>`, `room:<roomId>`,
 * `rotation:<roomId>:<epoch>`, `discovery`. Versions are per stream and start at 1 (an empty stream
 * is at version 0). Positions are global across streams, strictly increasing, gap-free, and start
 * at 1 (an empty log has head position 0).
 *
 * @example
 * const store = createMemoryEventStore();
 * await store.append('room:r1', [{ type: 'RoomCreated', data: { name: 'ops' }, meta }], {
 *   expectedVersion: 0,
 * });
 * const events = await store.readStream('room:r1');
 */

/** Metadata recorded with every event (`ARCHITECTURE.md` §Event sourcing). */
export interface EventMeta {
  /** ISO-8601 time the runtime recorded the event. */
  readonly recordedAt: string;
  /** Machine id (`peer`, `session`, …) of the actor whose transition this records. */
  readonly machine?: string;
  readonly machineVersion?: number;
  /** State value before and after the transition (JSON). */
  readonly from?: unknown;
  readonly to?: unknown;
  readonly causationId?: string;
  readonly correlationId?: string;
  /** The actor's status after it (`done`: it reached a final state and records nothing more). */
  readonly status?: string;
  readonly [extra: string]: unknown;
}

/** An event as handed to `append`: the store assigns `stream`, `version` and `position`. */
export interface NewEvent {
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly meta: EventMeta;
}

/** An event as stored and read back. */
export interface RecordedEvent extends NewEvent {
  readonly stream: string;
  readonly version: number;
  readonly position: number;
}

/**
 * `number`: the stream must be at exactly this version (0 = must not exist yet).
 * `'any'`: no concurrency check. `'exists'`: the stream must have at least one event.
 */
export type ExpectedVersion = number | 'any' | 'exists';

export interface AppendOptions {
  readonly expectedVersion?: ExpectedVersion;
}

export interface AppendResult {
  /** The stream's version after the append (version of the last appended event). */
  readonly version: number;
  /** Global position of the first and last appended event. */
  readonly firstPosition: number;
  readonly lastPosition: number;
}

export interface ReadStreamOptions {
  /** Return events with `version > afterVersion` (default 0: from the start). */
  readonly afterVersion?: number;
  readonly limit?: number;
}

export interface ReadAllOptions {
  /** Return events with `position > after` (default 0: from the start). */
  readonly after?: number;
  readonly limit?: number;
  /** Only streams whose name starts with this prefix. */
  readonly streamPrefix?: string;
}

export interface SubscribeOptions {
  /** Deliver every event with `position > after`, first the stored ones, then live ones. */
  readonly after?: number;
  readonly streamPrefix?: string;
}

export interface StreamInfo {
  readonly stream: string;
  readonly version: number;
  readonly lastPosition: number;
}

export type StoreKind = 'memory' | 'file' | 'mongodb';

/**
 * What a store that may drop old events reports (the memory store; see `retainBytes` in
 * `memory-event-store.ts`). Sizes are the estimated JSON size of the events, not heap bytes.
 *
 * @example
 * const r = store.retention?.();
 * if (r && r.droppedEvents > 0) console.warn(`events before #${r.firstPosition} were dropped`);
 */
export interface LogRetention {
  /** The budget in estimated JSON bytes (0: keep every event). */
  readonly retainBytes: number;
  /** Estimated JSON bytes of the events held now. */
  readonly heldBytes: number;
  readonly heldEvents: number;
  /** Events dropped since the store opened (all of them: positions `1…droppedEvents`). */
  readonly droppedEvents: number;
  /** Position of the oldest event held (`droppedEvents + 1`). */
  readonly firstPosition: number;
}

export interface EventStore {
  readonly kind: StoreKind;
  /** A human description without credentials, e.g. `file:/var/lib/conclave/log`. */
  readonly description: string;
  /**
   * Append events atomically to one stream. Throws `VersionConflictError` when `expectedVersion`
   * does not hold; then nothing is appended. An empty `events` array is rejected.
   */
  append(
    stream: string,
    events: readonly NewEvent[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /** Events of one stream in version order. An unknown stream yields `[]`. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Events of all streams in global position order. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /**
   * Catch-up then live tail: every event with `position > after`, in order, with no gaps and no
   * duplicates, even when events are appended while the catch-up read is running. Completes when
   * the store closes.
   */
  subscribe(options?: SubscribeOptions): Observable<RecordedEvent>;
  /** Current version of a stream (0 when it does not exist). */
  streamVersion(stream: string): Promise<number>;
  /** Streams known to the log, optionally filtered by prefix, sorted by name. */
  listStreams(prefix?: string): Promise<StreamInfo[]>;
  /** Global position of the last appended event (0 when empty). */
  headPosition(): Promise<number>;
  /**
   * Position of the oldest event the store still holds: always 1 for the durable stores (and for
   * an empty log). Only a store with a retention budget (the memory store) drops old events; then
   * reads and subscriptions that start before it begin here, and versions still count every event.
   *
   * @example
   * const first = await store.firstPosition();
   * if (first > after + 1) console.warn(`events before #${first} were dropped`);
   */
  firstPosition(): Promise<number>;
  /** Retention counters; only stores that can drop old events (the memory store) have it. */
  retention?(): LogRetention;
  /** Resolve once everything appended so far is durable (no-op for memory). */
  flush(): Promise<void>;
  /** Flush, release resources and complete all subscriptions. Idempotent. */
  close(): Promise<void>;
}
