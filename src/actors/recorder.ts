/**
 * Turns the actor system's inspection events into log records: for every event an actor
 * **accepted** (it took a transition), one record with the sanitized event, the state before and
 * after, and the metadata `ARCHITECTURE.md` lists. The actor's stream is `context.stream`.
 *
 * Not recorded: events no transition accepted, and queries (`*.query`), which change nothing.
 * Replaying a stream through `transition()` therefore reproduces the recorded states exactly.
 */
import type { InspectionEvent, AnyActorRef } from 'xstate';
import type { NewEvent } from '../store/event-store.js';
import { sanitize, sanitizeRecord } from './sanitize.js';

export interface RecorderDeps {
  readonly record: (stream: string, event: NewEvent) => void;
  readonly now: () => Date;
  /** Machine id → version, written into `meta.machineVersion`. */
  readonly machineVersions: Readonly<Record<string, number>>;
}

interface ActorTrack {
  from: unknown;
  isAccepted: boolean;
}

function machineIdOf(ref: AnyActorRef): string | undefined {
  const logic = (ref as { logic?: { id?: unknown } }).logic;
  return typeof logic?.id === 'string' ? logic.id : undefined;
}

function streamOf(snapshot: unknown): string | undefined {
  const ctx = (snapshot as { context?: { stream?: unknown } } | undefined)?.context;
  return typeof ctx?.stream === 'string' ? ctx.stream : undefined;
}

export function isQueryEvent(type: string): boolean {
  return type.endsWith('.query');
}

export function createRecorder(deps: RecorderDeps): (ev: InspectionEvent) => void {
  const tracks = new WeakMap<object, ActorTrack>();

  return (ev) => {
    const ref = ev.actorRef as AnyActorRef;
    switch (ev.type) {
      case '@xstate.event': {
        const t = tracks.get(ref);
        if (t) t.isAccepted = false;
        else tracks.set(ref, { from: null, isAccepted: false });
        return;
      }
      case '@xstate.microstep': {
        const t = tracks.get(ref);
        if (t && ev._transitions.length > 0) t.isAccepted = true;
        return;
      }
      case '@xstate.snapshot': {
        const t = tracks.get(ref) ?? { from: null, isAccepted: false };
        tracks.set(ref, t);
        const snap = ev.snapshot as { value?: unknown; status?: string };
        const isInit = ev.event.type === 'xstate.init';
        const to = snap.value ?? null;
        const from = t.from;
        t.from = to;
        if (!(isInit || t.isAccepted) || isQueryEvent(ev.event.type)) return;
        t.isAccepted = false;
        const stream = streamOf(ev.snapshot);
        const machine = machineIdOf(ref);
        if (stream === undefined || machine === undefined) return;
        const data = sanitizeRecord(ev.event);
        const causationId = typeof data.requestId === 'string' ? data.requestId : undefined;
        const correlationId =
          typeof data.correlationId === 'string' ? data.correlationId : undefined;
        deps.record(stream, {
          type: ev.event.type,
          data,
          meta: {
            recordedAt: deps.now().toISOString(),
            machine,
            machineVersion: deps.machineVersions[machine] ?? 0,
            from: sanitize(from) ?? null,
            to: sanitize(to) ?? null,
            status: snap.status ?? 'active',
            actorId: ref.id,
            ...(causationId ? { causationId } : {}),
            ...(correlationId ? { correlationId } : {}),
          },
        });
        return;
      }
      default:
        return;
    }
  };
}
