/**
 * A requester that polls too slowly (protocol §3.6): the responder's queue drops the oldest
 * frames, counts and logs them, and its next poll answer tells the requester, which counts and
 * logs what it missed. Dropped frames were never sealed, so however many there are, what is kept
 * still opens. Real sessions, real crypto, real HTTP on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_OUTBOX } from '../../../src/actors/session/push-outbox.js';
import { deliveryPair, type DeliveryPair } from './delivery-pair.js';
import { REQUESTER_ID, RESPONDER_ID } from './support.js';

const pairs: DeliveryPair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

const FRAMES = MAX_OUTBOX + 44;

/** The counts of the `type` events recorded in the stream of the session with `peerId`. */
const counts = (p: DeliveryPair, peerId: string, type: string): number[] =>
  p.records
    .filter((r) => r.stream.startsWith(`session:${peerId}:`) && r.event.type === type)
    .map((r) => (r.event.data as { count: number }).count);

describe('a poll queue that overflows', () => {
  it('counts and logs the dropped frames, and tells the poller, which counts what it missed', async () => {
    const p = await deliveryPair();
    pairs.push(p);
    const { requester: a, responder: b } = p;
    for (let n = 0; n < FRAMES; n++) {
      await expect(b.delivery.deliver(b.entry, { type: 'test.frame', n })).resolves.toBe('queued');
    }
    expect(b.entry.outbox).toHaveLength(MAX_OUTBOX);
    expect(b.entry.session.info().pushes).toEqual({ dropped: 44, missed: 0 });
    expect(b.delivery.stats().pushes).toEqual({ dropped: 44, missed: 0 });
    // Rate-limited: the first drop at once, the rest of the burst no later than the next poll.
    expect(counts(p, REQUESTER_ID, 'push.dropped')).toEqual([1]);

    expect(await a.delivery.poll(a.entry)).toBe(MAX_OUTBOX);
    expect(a.received.map((r) => r.n)).toEqual(
      Array.from({ length: MAX_OUTBOX }, (_, i) => i + 44),
    );
    expect(counts(p, REQUESTER_ID, 'push.dropped')).toEqual([1, 43]);
    expect(a.entry.session.info().pushes).toEqual({ dropped: 0, missed: 44 });
    expect(a.delivery.stats().pushes).toEqual({ dropped: 0, missed: 44 });
    expect(counts(p, RESPONDER_ID, 'push.missed')).toEqual([44]);

    // Later answers repeat the running total; nothing is counted or logged twice.
    expect(await a.delivery.poll(a.entry)).toBe(0);
    expect(a.entry.session.info().pushes.missed).toBe(44);
    expect(counts(p, RESPONDER_ID, 'push.missed')).toEqual([44]);
    expect(counts(p, REQUESTER_ID, 'push.dropped')).toEqual([1, 43]);
  });

  it('still delivers what it kept, and later pushes, after dropping more than a chain can skip', async () => {
    const p = await deliveryPair();
    pairs.push(p);
    const { requester: a, responder: b } = p;
    // 1 044 dropped: had each taken a seq of the push chain when queued, the kept frames would lie
    // beyond the requester's skip limit (1 024, §3.4) and none would open until a re-key.
    const MANY = MAX_OUTBOX + 1_044;
    for (let n = 0; n < MANY; n++) await b.delivery.deliver(b.entry, { type: 'test.frame', n });
    expect(b.entry.session.info().pushes.dropped).toBe(1_044);
    expect(await a.delivery.poll(a.entry)).toBe(MAX_OUTBOX);
    await b.delivery.deliver(b.entry, { type: 'test.frame', n: MANY });
    expect(await a.delivery.poll(a.entry)).toBe(1);
    expect(a.received.map((r) => r.n)).toEqual(
      Array.from({ length: MAX_OUTBOX + 1 }, (_, i) => i + 1_044),
    );
    expect(a.entry.session.info().stats.failures).toMatchObject({ 'decrypt-failed': 0 });
  });
});
