/**
 * The live actor tree behind `GET /api/actors`: each actor's id, machine, stream, current state and
 * sanitized context, children nested. Built from snapshots; nothing secret passes the sanitizer.
 */
import type { AnyActorRef } from 'xstate';
import { sanitize } from './sanitize.js';

export interface ActorNode {
  readonly id: string;
  readonly machine: string | null;
  readonly stream: string | null;
  readonly status: string;
  readonly state: unknown;
  readonly context: unknown;
  readonly children: readonly ActorNode[];
}

interface SnapshotLike {
  readonly status?: string;
  readonly value?: unknown;
  readonly context?: Record<string, unknown>;
  readonly children?: Record<string, AnyActorRef | undefined>;
}

export function actorTree(ref: AnyActorRef, depth = 0): ActorNode {
  const snap = ref.getSnapshot() as SnapshotLike;
  const logic = (ref as { logic?: { id?: unknown } }).logic;
  const stream = snap.context?.stream;
  const children =
    depth > 8
      ? []
      : Object.values(snap.children ?? {}).flatMap((c) => (c ? [actorTree(c, depth + 1)] : []));
  return {
    id: ref.id,
    machine: typeof logic?.id === 'string' ? logic.id : null,
    stream: typeof stream === 'string' ? stream : null,
    status: snap.status ?? 'active',
    state: sanitize(snap.value) ?? null,
    context: sanitize(snap.context) ?? null,
    children,
  };
}
