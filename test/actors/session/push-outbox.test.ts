import { describe, expect, it } from 'vitest';
import {
  ackOf,
  answerPoll,
  enqueue,
  MAX_POLLED_FRAME_BYTES,
  readPollAnswer,
  type QueuedFrame,
} from '../../../src/actors/session/push-outbox.js';
import { encodeInnerResponse, MAX_INNER_BYTES } from '../../../src/protocol/sealed.codec.js';

function queued(sizes: readonly number[]): { outbox: QueuedFrame[]; last: number } {
  const outbox: QueuedFrame[] = [];
  let last = 0;
  sizes.forEach((size, i) => (last = enqueue(outbox, last, Buffer.alloc(size, i)).n));
  return { outbox, last };
}

describe('push outbox', () => {
  it('fills an answer up to what one sealed response carries, and says more wait', () => {
    const { outbox, last } = queued(Array<number>(6).fill(MAX_POLLED_FRAME_BYTES));
    let ack = 0;
    for (let round = 1; round <= 6; round++) {
      const answer = answerPoll(outbox, last, ack);
      expect(answer.frames).toHaveLength(1);
      expect(answer.first).toBe(round);
      expect(answer.more).toBe(round < 6);
      const inner = encodeInnerResponse({ status: 200, body: answer }); // does not throw
      expect(inner.length).toBeLessThanOrEqual(MAX_INNER_BYTES);
      ack = round;
    }
    expect(answerPoll(outbox, last, ack)).toEqual({ frames: [], first: 7, more: false });
    expect(outbox).toHaveLength(0);
  });

  it('refuses to queue a frame no answer could carry', () => {
    expect(() => queued([MAX_POLLED_FRAME_BYTES + 1])).toThrow(
      expect.objectContaining({ code: 'ERR_BODY_TOO_LARGE' }),
    );
  });

  it('answers a poll without ack (an older peer) with what fits, removing it at once', () => {
    const { outbox, last } = queued([20_000, 20_000, 20_000]);
    const answer = answerPoll(outbox, last, ackOf({}));
    expect(answer.frames).toHaveLength(1);
    expect(outbox.map((f) => f.n)).toEqual([2, 3]);
    expect(answerPoll(outbox, last, undefined).frames).toHaveLength(1);
    expect(outbox.map((f) => f.n)).toEqual([3]);
  });

  it('reads only valid acks', () => {
    expect(ackOf({ ack: 3 })).toBe(3);
    for (const body of [undefined, null, {}, { ack: -1 }, { ack: 1.5 }, { ack: '3' }]) {
      expect(ackOf(body)).toBeUndefined();
    }
  });

  it('skips frames the requester already has, and takes an unnumbered answer whole', () => {
    const f = (n: number) => Buffer.from([n]).toString('base64url');
    const read = readPollAnswer({ frames: [f(4), f(5), f(6)], first: 4, more: true }, 5);
    expect(read?.frames.map((b) => b[0])).toEqual([6]);
    expect(read).toMatchObject({ last: 6, more: true });
    const old = readPollAnswer({ frames: [f(1), f(2)] }, 5);
    expect(old?.frames.map((b) => b[0])).toEqual([1, 2]);
    expect(old).toMatchObject({ last: 5, more: false });
    expect(readPollAnswer({ nope: true }, 0)).toBeUndefined();
  });
});
