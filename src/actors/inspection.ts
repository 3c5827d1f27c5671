/**
 * The live inspection feed of `conclave serve --inspect`: every actor the runtime creates reports
 * its xstate inspection events (`@xstate.actor`, `@xstate.event`, `@xstate.snapshot`) here, beside
 * the recorder. The feed keeps a small replay buffer and the actors that are still alive, and hands
 * readers sanitized records (`src/protocol/inspection.types.ts`).
 *
 * Cheap while nobody reads: an event costs one small object in a ring. It is converted (sanitized)
 * only when a reader is subscribed or a new reader replays the buffer, and at most once.
 * Without `--inspect` no feed exists and the recorder is the actors' only inspector
 * (`composeInspect`).
 *
 * @example
 * const feed = createInspectionFeed();
 * const actor = createActor(machine, { inspect: composeInspect(recorder, feed) });
 * feed.events$().subscribe((record) => console.log(record.type, record.sessionId));
 */
import { Subject, concat, defer, finalize, from, type Observable } from 'rxjs';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import type { InspectionRecord } from '../protocol/inspection.types.js';
import { toRecord, type FedInspectionEvent } from './inspection-format.js';

export interface InspectionFeedInit {
  /** Recent events a new reader gets before the live ones (default 500). */
  readonly bufferSize?: number;
  /** Live actors remembered for new readers (default 1000; the oldest are forgotten first). */
  readonly maxActors?: number;
  /** Clock for `createdAt` (ms since the epoch). */
  readonly now?: () => number;
}

export interface InspectionFeedStats {
  /** Events received since start. */
  readonly events: number;
  readonly buffered: number;
  /** Actors alive as far as the feed knows. */
  readonly actors: number;
  readonly readers: number;
  /** Events that could not be converted (a bug; they are skipped, the actors run on). */
  readonly failed: number;
}

export interface InspectionFeed {
  /** xstate's `inspect` observer. */
  readonly inspect: (ev: InspectionEvent) => void;
  /**
   * Sanitized records: first the live actors (`@xstate.actor` with their current snapshot), then
   * the buffered events, then live ones, until the feed closes.
   */
  events$(): Observable<InspectionRecord>;
  stats(): InspectionFeedStats;
  /** Complete every reader; later events are ignored. */
  close(): void;
}

interface Entry {
  readonly seq: number;
  readonly ev: FedInspectionEvent;
  readonly at: number;
  converted?: InspectionRecord;
}

/** The recorder alone when inspection is off (no added work), else both in turn. */
export function composeInspect(
  recorder: (ev: InspectionEvent) => void,
  feed: InspectionFeed | undefined,
): (ev: InspectionEvent) => void {
  if (!feed) return recorder;
  return (ev) => {
    recorder(ev);
    feed.inspect(ev);
  };
}

function isFed(ev: InspectionEvent): ev is FedInspectionEvent {
  return (
    ev.type === '@xstate.actor' || ev.type === '@xstate.event' || ev.type === '@xstate.snapshot'
  );
}

function isAlive(ref: AnyActorRef): boolean {
  try {
    const snap = ref.getSnapshot() as { status?: unknown } | undefined;
    return snap === undefined || snap.status === 'active';
  } catch {
    return false;
  }
}

export function createInspectionFeed(init: InspectionFeedInit = {}): InspectionFeed {
  const bufferSize = Math.max(1, init.bufferSize ?? 500);
  const maxActors = Math.max(1, init.maxActors ?? 1_000);
  const now = init.now ?? Date.now;
  const live = new Subject<InspectionRecord>();
  const ring: Array<Entry | undefined> = new Array<Entry | undefined>(bufferSize);
  /** Actor entries by session id, oldest first. */
  const actors = new Map<string, Entry>();
  let seq = 0;
  let failed = 0;
  let readers = 0;
  let isClosed = false;

  const convert = (entry: Entry): InspectionRecord | undefined => {
    if (entry.converted) return entry.converted;
    try {
      entry.converted = toRecord(entry.ev, String(entry.seq), entry.at);
      return entry.converted;
    } catch {
      failed += 1;
      return undefined;
    }
  };

  const buffered = (): Entry[] => {
    const out: Entry[] = [];
    for (let i = 0; i < bufferSize; i++) {
      const e = ring[(seq + 1 + i) % bufferSize];
      if (e) out.push(e);
    }
    return out;
  };

  const replay = (): InspectionRecord[] => {
    const out: InspectionRecord[] = [];
    const alive = new Set<string>();
    for (const [sessionId, entry] of actors) {
      if (!isAlive(entry.ev.actorRef as AnyActorRef)) {
        actors.delete(sessionId);
        continue;
      }
      alive.add(sessionId);
      try {
        // Fresh, not cached: the actor's snapshot as it is now.
        out.push(toRecord(entry.ev, String(entry.seq), entry.at));
      } catch {
        failed += 1;
      }
    }
    for (const entry of buffered()) {
      if (entry.ev.type === '@xstate.actor' && alive.has(entry.ev.actorRef.sessionId)) continue;
      const record = convert(entry);
      if (record) out.push(record);
    }
    return out;
  };

  const inspect = (ev: InspectionEvent): void => {
    if (isClosed || !isFed(ev)) return;
    seq += 1;
    const entry: Entry = { seq, ev, at: now() };
    ring[seq % bufferSize] = entry;
    const sessionId = ev.actorRef.sessionId;
    if (ev.type === '@xstate.actor') {
      actors.set(sessionId, entry);
      if (actors.size > maxActors) {
        const oldest = actors.keys().next();
        if (!oldest.done) actors.delete(oldest.value);
      }
    } else if (ev.type === '@xstate.snapshot') {
      const status = (ev.snapshot as { status?: unknown }).status;
      if (status !== 'active') actors.delete(sessionId);
    }
    if (!live.observed) return;
    const record = convert(entry);
    if (record) live.next(record);
  };

  return {
    inspect,
    events$() {
      return defer(() => {
        readers += 1;
        return concat(from(replay()), live).pipe(finalize(() => (readers -= 1)));
      });
    },
    stats: () => ({
      events: seq,
      buffered: Math.min(seq, bufferSize),
      actors: actors.size,
      readers,
      failed,
    }),
    close() {
      isClosed = true;
      live.complete();
    },
  };
}
