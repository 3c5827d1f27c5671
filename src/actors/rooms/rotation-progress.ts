/**
 * A host's rotations on the local feed (`rotation` events): every state change at once, and ack
 * progress ("k of n") at most every 100 ms per rotation — an ack held back by that limit is
 * published when it ends (a trailing event), so the feed never stays on an old "k of n" while the
 * rotation waits for the rest.
 */
import type { EventHub } from '../event-hub.js';
import { viewOf, type RotationRef } from './rotations.types.js';

/** Least time between two progress events of one rotation. */
const PROGRESS_EVERY_MS = 100;

export interface RotationFeed {
  /** A state change (`isProgress` false), or acks that moved the count on (`true`). */
  readonly publish: (ref: RotationRef, isProgress?: boolean) => void;
  /** Drop the trailing events still waiting. */
  readonly close: () => void;
}

export function createRotationFeed(hub: EventHub, now: () => Date): RotationFeed {
  const lastProgress = new Map<string, number>();
  const trailing = new Map<string, NodeJS.Timeout>();
  function publish(ref: RotationRef, isProgress = false): void {
    const stream = ref.getSnapshot().context.stream;
    if (isProgress) {
      const t0 = now().getTime();
      const wait = PROGRESS_EVERY_MS - (t0 - (lastProgress.get(stream) ?? 0));
      if (wait > 0) {
        if (!trailing.has(stream)) {
          const t = setTimeout(() => {
            trailing.delete(stream);
            if (ref.getSnapshot().value === 'distributing') publish(ref, true);
          }, wait);
          t.unref();
          trailing.set(stream, t);
        }
        return;
      }
      lastProgress.set(stream, t0);
    } else if (ref.getSnapshot().value !== 'distributing') {
      lastProgress.delete(stream);
      clearTimeout(trailing.get(stream));
      trailing.delete(stream);
    }
    hub.publish('rotation', { ...viewOf(ref) });
  }
  return {
    publish,
    close: () => {
      for (const t of trailing.values()) clearTimeout(t);
      trailing.clear();
    },
  };
}
