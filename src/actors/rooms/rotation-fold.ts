/**
 * Rotations as the log left them: each `rotation:<roomId>:<epoch>` stream replayed through the
 * rotation machine's pure `transition()`, oldest epoch first — what a restarted host resumes from.
 */
import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import {
  rotationMachine,
  type RotationContext,
  type RotationInput,
  type RotationStateName,
} from '../../machines/rotation.machine.js';
import type { EventStore, RecordedEvent } from '../../store/event-store.js';

export interface FoldedRotation {
  readonly stream: string;
  readonly ctx: RotationContext;
  readonly state: RotationStateName;
}

/**
 * Fold every rotation stream in `store`, sorted by epoch (events of other machines are skipped).
 *
 * @example
 * for (const f of await foldRotations(store)) if (f.state === 'distributing') resume(f);
 */
export async function foldRotations(store: EventStore): Promise<FoldedRotation[]> {
  const byStream = new Map<string, RecordedEvent[]>();
  for (const e of await store.readAll({ streamPrefix: 'rotation:' })) {
    const list = byStream.get(e.stream) ?? [];
    list.push(e);
    byStream.set(e.stream, list);
  }
  const folded: FoldedRotation[] = [];
  for (const [stream, events] of byStream) {
    let snap: AnyMachineSnapshot | undefined;
    for (const e of events) {
      if (e.meta.machine !== 'rotation') continue;
      if (e.type === 'xstate.init')
        [snap] = initialTransition(rotationMachine, (e.data as { input: RotationInput }).input);
      else if (snap) [snap] = transition(rotationMachine, snap as never, e.data as never);
    }
    if (snap)
      folded.push({
        stream,
        ctx: snap.context as RotationContext,
        state: snap.value as RotationStateName,
      });
  }
  return folded.sort((a, b) => a.ctx.epoch - b.ctx.epoch);
}
