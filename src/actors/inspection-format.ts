/**
 * Turns xstate's inspection events into the sanitized, JSON-ready records of the live inspection
 * feed (`src/protocol/inspection.types.ts`, the `@statelyai/inspect` event format). Every event,
 * context and snapshot goes through the sanitizer; machine definitions are sanitized once per
 * machine and cached.
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';
import {
  STATELY_INSPECT_VERSION,
  type Chart,
  type InspectedSnapshot,
  type InspectionEventObject,
  type InspectionRecord,
} from '../protocol/inspection.types.js';
import { chartOf } from './inspection-chart.js';
import { sanitize, sanitizeRecord } from './sanitize.js';

/** The inspection events the feed keeps (microsteps and actions stay out). */
export type FedInspectionEvent = Extract<
  InspectionEvent,
  { type: '@xstate.actor' | '@xstate.event' | '@xstate.snapshot' }
>;

interface Definition {
  readonly definition: string | undefined;
  readonly chart: Chart | undefined;
}

const MAX_CONFIG_NODES = 5_000;
const MAX_CONFIG_DEPTH = 16;
const definitions = new WeakMap<object, Definition>();

/**
 * A machine config as plain data, the way `@statelyai/inspect` sends it: functions (inline actions,
 * guards) become `{ type }`, nested machines become `{ type: 'machine', id }`; cycles, depth and
 * size are cut. The sanitizer runs over the result.
 */
function plainConfig(value: unknown, budget: { left: number }, depth = 0): unknown {
  budget.left -= 1;
  if (budget.left < 0 || depth > MAX_CONFIG_DEPTH) return undefined;
  if (typeof value === 'function') {
    const fn = value as { type?: unknown; name?: string };
    return { type: typeof fn.type === 'string' ? fn.type : fn.name || 'anonymous' };
  }
  if (typeof value !== 'object' || value === null) return value;
  if ('root' in value && 'config' in value) {
    const id = (value as { id?: unknown }).id;
    return { type: 'machine', id: typeof id === 'string' ? id : null };
  }
  if (Array.isArray(value)) return value.map((v) => plainConfig(v, budget, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = plainConfig(v, budget, depth + 1);
  return out;
}

/** The machine's sanitized definition (JSON string, as Stately sends it) and its chart; cached. */
export function definitionOf(logic: unknown): Definition {
  if (typeof logic !== 'object' || logic === null)
    return { definition: undefined, chart: undefined };
  const cached = definitions.get(logic);
  if (cached) return cached;
  const config = (logic as { config?: unknown }).config;
  let result: Definition;
  try {
    result = {
      definition:
        typeof config === 'object' && config !== null
          ? JSON.stringify(sanitize(plainConfig(config, { left: MAX_CONFIG_NODES })))
          : undefined,
      chart: sanitize(chartOf(logic)) as Chart | undefined,
    };
  } catch {
    // A definition we cannot read is left out; the actor is still shown.
    result = { definition: undefined, chart: undefined };
  }
  definitions.set(logic, result);
  return result;
}

interface SnapshotLike {
  readonly status?: unknown;
  readonly value?: unknown;
  readonly context?: unknown;
  readonly children?: Readonly<Record<string, AnyActorRef | undefined>>;
  readonly output?: unknown;
  readonly error?: unknown;
  readonly tags?: unknown;
}

/**
 * Events and contexts are immutable in xstate (`assign` makes a new context), so each is sanitized
 * once: an event's `@xstate.event` and `@xstate.snapshot` records share it, and a snapshot whose
 * context did not change reuses the last one.
 */
const sanitized = new WeakMap<object, unknown>();

function sanitizeOnce(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return sanitize(value) ?? null;
  if (sanitized.has(value)) return sanitized.get(value);
  const clean = sanitize(value) ?? null;
  sanitized.set(value, clean);
  return clean;
}

/**
 * An actor snapshot as sanitized JSON (before an actor's first snapshot: `{status: 'active'}`).
 * Hot path: plain assignments, no object spreads (V8 copies spreads slowly here).
 */
export function snapshotOf(snapshot: unknown): InspectedSnapshot {
  if (typeof snapshot !== 'object' || snapshot === null) return { status: 'active' };
  const s = snapshot as SnapshotLike;
  const out: { -readonly [K in keyof InspectedSnapshot]: InspectedSnapshot[K] } = {
    status: typeof s.status === 'string' ? s.status : 'active',
  };
  if ('value' in s) out.value = sanitize(s.value) ?? null;
  if (s.context !== undefined) out.context = sanitizeOnce(s.context);
  let children: Record<string, { id: string; sessionId: string }> | undefined;
  for (const key in s.children) {
    const ref = s.children[key];
    if (ref) (children ??= {})[key] = { id: ref.id, sessionId: ref.sessionId };
  }
  if (children) out.children = children;
  if (s.output !== undefined) out.output = sanitize(s.output) ?? null;
  if (s.error !== undefined) out.error = sanitize(s.error) ?? null;
  if (s.tags instanceof Set && s.tags.size > 0)
    out.tags = [...(s.tags as Set<unknown>)].map(String);
  return out;
}

function eventOf(event: unknown): InspectionEventObject {
  const clean = sanitizeOnce(event) as { type?: unknown } | null;
  if (typeof clean === 'object' && clean !== null && typeof clean.type === 'string') {
    return clean as InspectionEventObject;
  }
  return { ...sanitizeRecord(event), type: 'unknown' };
}

function currentSnapshot(ref: AnyActorRef): unknown {
  try {
    return ref.getSnapshot() as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The feed record of one xstate inspection event. `@xstate.actor` reads the actor's snapshot now
 * (xstate announces an actor before its first snapshot exists), so a late reader sees its state.
 */
export function toRecord(ev: FedInspectionEvent, id: string, at: number): InspectionRecord {
  const ref = ev.actorRef as AnyActorRef;
  const createdAt = String(at);
  switch (ev.type) {
    case '@xstate.actor': {
      const logic = (ref as { logic?: { id?: unknown } }).logic;
      const machine = typeof logic?.id === 'string' ? logic.id : null;
      const { definition, chart } = definitionOf(logic);
      const systemId = (ref as { systemId?: unknown }).systemId;
      return {
        type: '@xstate.actor',
        id,
        sessionId: ref.sessionId,
        rootId: ev.rootId,
        createdAt,
        _version: STATELY_INSPECT_VERSION,
        name: machine ?? ref.id,
        parentId: ref._parent?.sessionId,
        definition,
        snapshot: snapshotOf(currentSnapshot(ref)),
        actorId: ref.id,
        machine,
        ...(typeof systemId === 'string' ? { systemId } : {}),
        ...(chart ? { chart } : {}),
      };
    }
    case '@xstate.event':
      return {
        type: '@xstate.event',
        id,
        sessionId: ref.sessionId,
        rootId: ev.rootId,
        createdAt,
        _version: STATELY_INSPECT_VERSION,
        event: eventOf(ev.event),
        sourceId: (ev.sourceRef as AnyActorRef | undefined)?.sessionId,
      };
    case '@xstate.snapshot':
      return {
        type: '@xstate.snapshot',
        id,
        sessionId: ref.sessionId,
        rootId: ev.rootId,
        createdAt,
        _version: STATELY_INSPECT_VERSION,
        event: eventOf(ev.event),
        snapshot: snapshotOf(ev.snapshot),
      };
  }
}
