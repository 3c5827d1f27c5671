import { afterEach, describe, expect, it } from 'vitest';
import {
  ackOf,
  answerPoll,
  drain,
  MAX_OUTBOX,
  MAX_POLLED_FRAME_BYTES,
  readPollAnswer,
  sealedSizeOf,
  takeUnsent,
  type QueuedPush,
} from '../../../src/actors/session/push-outbox.js';
import {
  encodeInnerPush,
  encodeInnerResponse,
  MAX_INNER_BYTES,
} from '../../../src/protocol/sealed.codec.js';
import { fakeSeal, pushOf, queueOf } from './outbox-support.js';
import { sessionPair, type Pair } from './support.js';

const pairs: Pair[] = [];
afterEach(() => {
  for (const { a, b } of pairs.splice(0)) for (const s of [a, b]) s.close('test over');
});

const numbers = (outbox: readonly QueuedPush[]) => outbox.map((q) => q.n);

describe('push outbox', () => {
  it('fills an answer up to what one sealed response carries, and says more wait', () => {
    const { outbox, last } = queueOf(Array<number>(6).fill(MAX_POLLED_FRAME_BYTES));
    const { seal, sealed } = fakeSeal();
    let ack = 0;
    for (let round = 1; round <= 6; round++) {
      const answer = answerPoll(outbox, last, ack, seal);
      expect(answer.frames).toHaveLength(1);
      expect(answer.first).toBe(round);
      expect(answer.more).toBe(round < 6);
      const inner = encodeInnerResponse({ status: 200, body: answer }); // does not throw
      expect(inner.length).toBeLessThanOrEqual(MAX_INNER_BYTES);
      ack = round;
    }
    expect(answerPoll(outbox, last, ack, seal)).toEqual({ frames: [], first: 7, more: false });
    expect(outbox).toHaveLength(0);
    expect(sealed).toHaveLength(6); // each sealed once, as it went out
  });

  it('refuses to queue a frame no answer could carry', () => {
    expect(() => queueOf([MAX_POLLED_FRAME_BYTES + 1])).toThrow(
      expect.objectContaining({ code: 'ERR_BODY_TOO_LARGE' }),
    );
  });

  it('knows the size of a frame before sealing it', () => {
    const p = sessionPair();
    pairs.push(p);
    for (const push of [{ type: 'x' }, pushOf(20_000), pushOf(MAX_POLLED_FRAME_BYTES)]) {
      expect(p.b.sealPush(push)).toHaveLength(sealedSizeOf(encodeInnerPush(push).length));
    }
    expect(pushOf(MAX_POLLED_FRAME_BYTES, 7)).toMatchObject({ n: 7 });
  });

  it('seals a push only when it first goes out, and sends the same bytes until acknowledged', () => {
    const { outbox, last } = queueOf([20_000, 20_000, 20_000]);
    const { seal, sealed } = fakeSeal();
    expect(outbox.every((q) => q.frame === undefined)).toBe(true);
    const first = answerPoll(outbox, last, 0, seal);
    expect(first).toMatchObject({ first: 1, more: true });
    expect(first.frames).toHaveLength(1);
    expect(sealed).toHaveLength(1); // the frames that did not fit take no seq yet
    // The answer was lost: the same poll is answered with the same sealed frame, not a new seal.
    expect(answerPoll(outbox, last, 0, seal)).toEqual(first);
    expect(sealed).toHaveLength(1);
    const second = answerPoll(outbox, last, 1, seal);
    expect(second).toMatchObject({ first: 2, more: true });
    expect(second.frames[0]).not.toBe(first.frames[0]);
    expect(sealed.map((p) => p['n'])).toEqual([0, 1]);
  });

  it('drops the oldest pushes of a full queue unsealed, so the seals that follow leave no gap', () => {
    const { outbox, last } = queueOf(Array<number>(MAX_OUTBOX * 5).fill(100));
    expect(numbers(outbox)[0]).toBe(MAX_OUTBOX * 4 + 1);
    const { seal, sealed } = fakeSeal();
    const answer = answerPoll(outbox, last, 0, seal);
    expect(answer.first).toBe(MAX_OUTBOX * 4 + 1);
    expect(sealed).toHaveLength(answer.frames.length);
    expect(sealed[0]).toBe(outbox[0]?.push);
  });

  it('answers a poll without ack (an older peer) with what fits, removing it at once', () => {
    const { outbox, last } = queueOf([20_000, 20_000, 20_000]);
    const { seal } = fakeSeal();
    const answer = answerPoll(outbox, last, ackOf({}), seal);
    expect(answer.frames).toHaveLength(1);
    expect(numbers(outbox)).toEqual([2, 3]);
    expect(answerPoll(outbox, last, undefined, seal).frames).toHaveLength(1);
    expect(numbers(outbox)).toEqual([3]);
  });

  it('drains for a new link: sent frames as they went, the others sealed now, in order', () => {
    const { outbox, last } = queueOf([20_000, 20_000, 20_000]);
    const { seal, sealed } = fakeSeal();
    const [sent] = answerPoll(outbox, last, 0, seal).frames;
    const frames = drain(outbox, seal);
    expect(frames.map((f) => f.toString('base64url'))[0]).toBe(sent);
    expect(frames.map((f) => f[0])).toEqual([0, 1, 2]);
    expect(sealed).toHaveLength(3);
    expect(outbox).toHaveLength(0);
  });

  it('hands a replaced queue on: the pushes never sent, and how many others are lost', () => {
    const { outbox, last } = queueOf([20_000, 20_000, 20_000]);
    answerPoll(outbox, last, 0, fakeSeal().seal); // frame 1 went out, not acknowledged
    const { pushes, lost } = takeUnsent(outbox);
    expect(pushes.map((p) => p['n'])).toEqual([1, 2]);
    expect(lost).toBe(1);
    expect(outbox).toHaveLength(0);
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
