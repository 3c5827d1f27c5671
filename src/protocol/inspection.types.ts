/**
 * The live inspection events a peer started with `--inspect` serves on `GET /api/inspect/events`
 * (SSE) and `WS /api/inspect/ws`. They follow the `@statelyai/inspect` JSON event format
 * (`StatelyInspectionEvent`), so its `createWebSocketReceiver` and the Stately inspector bridge read
 * them unchanged; the extra fields (`actorId`, `machine`, `chart`) are ours and ignored by them.
 *
 * Everything in here has passed the sanitizer: no key, password or raw byte ever appears.
 *
 * @example
 * { "type": "@xstate.snapshot", "id": "42", "sessionId": "x:7", "rootId": "x:7",
 *   "createdAt": "1767225600000", "_version": "0.7.0",
 *   "event": { "type": "hs.accept", … }, "snapshot": { "status": "active", "value": "confirming", … } }
 */

/** The `@statelyai/inspect` protocol version these events follow. */
export const STATELY_INSPECT_VERSION = '0.7.0';

interface InspectionBase {
  /** Unique per event, increasing (also the SSE `id`). */
  readonly id: string;
  /** The actor's session id (`x:N`), unique in the process. */
  readonly sessionId: string;
  /** The session id of the actor's root. */
  readonly rootId: string | undefined;
  /** Milliseconds since the epoch, as a string (the Stately format). */
  readonly createdAt: string;
  readonly _version: string;
}

/** An actor's snapshot as JSON: status, state value, sanitized context. */
export interface InspectedSnapshot {
  readonly status: string;
  readonly value?: unknown;
  readonly context?: unknown;
  readonly children?: unknown;
  readonly output?: unknown;
  readonly error?: unknown;
  readonly tags?: readonly string[];
}

export interface InspectionEventObject {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** One state of a statechart, drawn by the viewer as a box. */
export interface ChartNode {
  /** xstate's state node id, e.g. `peer.running`. */
  readonly id: string;
  /** The state's key in its parent (`running`). */
  readonly name: string;
  /** Keys from the root, e.g. `["active", "keys"]`; matches `snapshot.value`. */
  readonly path: readonly string[];
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** Id of the initial child (compound states). */
  readonly initial?: string;
  readonly children: readonly ChartNode[];
}

/** One transition, drawn as an arrow from `source` to each `targets` (none: internal). */
export interface ChartEdge {
  readonly source: string;
  readonly targets: readonly string[];
  /** The event type as xstate names it (`xstate.after.…`, `` for eventless). */
  readonly event: string;
  /** What the viewer prints for the event: the type, `after 1000 ms`, `always`, `done: child`. */
  readonly label: string;
  /** The guard's name, when the transition has one. */
  readonly guard?: string;
}

/** A statechart as boxes and arrows, built from the machine definition. */
export interface Chart {
  readonly root: ChartNode;
  readonly edges: readonly ChartEdge[];
  /** True when the chart was cut to its size limits. */
  readonly isTruncated: boolean;
}

export interface InspectionActorEvent extends InspectionBase {
  readonly type: '@xstate.actor';
  /** Machine id (or the actor id for other logic), as the Stately format names it. */
  readonly name: string;
  readonly parentId: string | undefined;
  /** JSON-stringified, sanitized machine config (functions become `{type}`), as Stately sends it. */
  readonly definition: string | undefined;
  readonly snapshot: InspectedSnapshot;
  /** The actor's own id (`discovery`, `trust`, or the session id for roots). */
  readonly actorId: string;
  readonly machine: string | null;
  readonly systemId?: string;
  readonly chart?: Chart;
}

export interface InspectionEventEvent extends InspectionBase {
  readonly type: '@xstate.event';
  readonly event: InspectionEventObject;
  /** Session id of the sender, when an actor sent it. */
  readonly sourceId: string | undefined;
}

export interface InspectionSnapshotEvent extends InspectionBase {
  readonly type: '@xstate.snapshot';
  readonly event: InspectionEventObject;
  readonly snapshot: InspectedSnapshot;
}

export type InspectionRecord =
  InspectionActorEvent | InspectionEventEvent | InspectionSnapshotEvent;
