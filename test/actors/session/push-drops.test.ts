/**
 * Push frames lost to a full poll queue (protocol §3.6): the queue says how many it dropped, its
 * answers carry the session's running total as `dropped`, and a session counts drops (ours) and
 * misses (the peer's, as it says) and logs them rate-limited — a burst is not one event per frame.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  answerPoll,
  enqueue,
  MAX_OUTBOX,
  MAX_POLLED_FRAME_BYTES,
  readPollAnswer,
  type QueuedPush,
} from '../../../src/actors/session/push-outbox.js';
import { encodeInnerResponse, MAX_INNER_BYTES } from '../../../src/protocol/sealed.codec.js';
import { fakeSeal, pushOf } from './outbox-support.js';
import { sessionPair, type Pair } from './support.js';

const pairs: Pair[] = [];
afterEach(() => {
  for (const { a, b } of pairs.splice(0)) for (const s of [a, b]) s.close('test over');
});

function pair(): Pair {
  const p = sessionPair();
  pairs.push(p);
  return p;
}

const eventsOf = (p: Pair, type: string) =>
  p.records.filter((r) => r.event.type === type).map((r) => r.event.data as { count: number });

describe('a full poll queue', () => {
  it('says how many frames it dropped to make room', () => {
    const outbox: QueuedPush[] = [];
    let last = 0;
    for (let i = 0; i < MAX_OUTBOX; i++) {
      const queued = enqueue(outbox, last, { type: 'test.frame', n: i });
      expect(queued.dropped).toBe(0);
      last = queued.n;
    }
    expect(enqueue(outbox, last, { type: 'test.frame' })).toEqual({
      n: MAX_OUTBOX + 1,
      dropped: 1,
    });
    expect(outbox).toHaveLength(MAX_OUTBOX);
    expect(outbox[0]?.n).toBe(2);
  });

  it('carries the running drop total in its answers, and keeps the old shape without drops', () => {
    const outbox: QueuedPush[] = [];
    const { seal } = fakeSeal();
    const { n } = enqueue(outbox, 0, { type: 'test.frame' });
    expect(answerPoll(outbox, n, 0, seal)).not.toHaveProperty('dropped');
    expect(answerPoll(outbox, n, 0, seal, 7)).toMatchObject({ first: 1, more: false, dropped: 7 });
    expect(answerPoll(outbox, n, undefined, seal, 7)).toMatchObject({ dropped: 7 }); // older poller
  });

  it('still fits a full answer into one sealed response with the largest numbers', () => {
    const outbox: QueuedPush[] = [];
    const last = Number.MAX_SAFE_INTEGER - 1;
    enqueue(outbox, last - 1, pushOf(MAX_POLLED_FRAME_BYTES));
    const answer = answerPoll(outbox, last, 0, fakeSeal().seal, Number.MAX_SAFE_INTEGER);
    expect(answer.frames).toHaveLength(1);
    const inner = encodeInnerResponse({ status: 200, body: answer }); // does not throw
    expect(inner.length).toBeLessThanOrEqual(MAX_INNER_BYTES);
  });

  it('lets the requester read the drop total, and ignores a bad one', () => {
    const body = { frames: [], first: 1, more: false };
    expect(readPollAnswer({ ...body, dropped: 5 }, 0)?.dropped).toBe(5);
    for (const dropped of [-1, 1.5, '5', null]) {
      expect(readPollAnswer({ ...body, dropped }, 0)).not.toHaveProperty('dropped');
    }
    expect(readPollAnswer(body, 0)).not.toHaveProperty('dropped'); // an older responder
  });
});

describe('a session counting lost pushes', () => {
  it('logs a burst of drops as at most two events, and counts every frame', () => {
    const p = pair();
    for (let i = 0; i < 100; i++) p.b.pushesDropped(1);
    expect(p.b.info().pushes).toEqual({ dropped: 100, missed: 0 });
    expect(eventsOf(p, 'push.dropped')).toEqual([expect.objectContaining({ count: 1 })]);
    p.b.flushPushReports(); // after a poll: what the rate limit held back
    expect(eventsOf(p, 'push.dropped').map((e) => e.count)).toEqual([1, 99]);
    p.b.flushPushReports();
    expect(eventsOf(p, 'push.dropped')).toHaveLength(2);
    expect(p.b.actor.getSnapshot().context.droppedPushes).toBe(100);
  });

  it('reports again once the interval has passed, and what is left when it closes', () => {
    const p = pair();
    p.b.pushesDropped(3);
    p.clock.advance(1_000);
    p.b.pushesDropped(2);
    p.b.pushesDropped(4);
    expect(eventsOf(p, 'push.dropped').map((e) => e.count)).toEqual([3, 2]);
    p.b.close('done');
    expect(eventsOf(p, 'push.dropped').map((e) => e.count)).toEqual([3, 2, 4]);
    expect(p.b.info().pushes.dropped).toBe(9);
  });

  it('counts and logs the frames the peer says it dropped for us', () => {
    const p = pair();
    p.a.pushesMissed(44);
    p.a.pushesMissed(0);
    expect(p.a.info().pushes).toEqual({ dropped: 0, missed: 44 });
    expect(eventsOf(p, 'push.missed')).toEqual([expect.objectContaining({ count: 44 })]);
    expect(p.records.find((r) => r.event.type === 'push.missed')?.stream).toMatch(/^session:b+:/);
    expect(p.a.actor.getSnapshot().context.missedPushes).toBe(44);
  });
});
