/**
 * Pushes of a chosen sealed size for the poll queue (`push-outbox.ts`), and a stand-in for a
 * session's `sealPush` that makes frames of the size a real seal would and counts its calls (each
 * call of the real one takes a seq of the push chain).
 */
import {
  enqueue,
  sealedSizeOf,
  type QueuedPush,
  type SealPush,
} from '../../../src/actors/session/push-outbox.js';
import { encodeInnerPush, type InnerPush } from '../../../src/protocol/sealed.codec.js';

/** JSON bytes of `{"type":"test.frame","n":…,"pad":""}` with a one-digit `n`. */
const BARE = Buffer.byteLength(JSON.stringify({ type: 'test.frame', n: 0, pad: '' }));

/** A push numbered `n` (0–9) whose sealed frame is `frameBytes` long. */
export function pushOf(frameBytes: number, n = 0): InnerPush {
  return { type: 'test.frame', n, pad: 'x'.repeat(frameBytes - sealedSizeOf(BARE)) };
}

export interface FakeSeal {
  readonly seal: SealPush;
  /** The pushes sealed, in order. */
  readonly sealed: InnerPush[];
}

/** Frames of the real sealed size whose bytes all hold the count of seals before them. */
export function fakeSeal(): FakeSeal {
  const sealed: InnerPush[] = [];
  return {
    sealed,
    seal(push) {
      sealed.push(push);
      return Buffer.alloc(sealedSizeOf(encodeInnerPush(push).length), sealed.length - 1);
    },
  };
}

/** A queue holding pushes of these sealed sizes, numbered from 1. */
export function queueOf(frameSizes: readonly number[]): { outbox: QueuedPush[]; last: number } {
  const outbox: QueuedPush[] = [];
  let last = 0;
  frameSizes.forEach((size, i) => (last = enqueue(outbox, last, pushOf(size, i % 10)).n));
  return { outbox, last };
}
