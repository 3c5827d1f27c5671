/**
 * The poll queue of a session that is retired (protocol §3.6): a successor (the same requester's
 * new session) takes the pushes that never went out and seals them under its own keys; a push
 * that went out in an answer not yet acknowledged may have arrived, and sealed anew it could
 * arrive twice, so it is counted as dropped, like everything a session retired without successor
 * leaves. Real sessions, real crypto, real HTTP on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { deliveryPair, type DeliveryPair } from './delivery-pair.js';
import { REQUESTER_ID } from './support.js';

const pairs: DeliveryPair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

async function pair(): Promise<DeliveryPair> {
  const p = await deliveryPair();
  pairs.push(p);
  return p;
}

async function queue(p: DeliveryPair, from: number, count: number): Promise<void> {
  for (let n = from; n < from + count; n++) {
    await expect(
      p.responder.delivery.deliver(p.responder.entry, { type: 'test.frame', n }),
    ).resolves.toBe('queued');
  }
}

const dropsLogged = (p: DeliveryPair): number =>
  p.records
    .filter((r) => r.stream.startsWith(`session:${REQUESTER_ID}:`))
    .filter((r) => r.event.type === 'push.dropped')
    .reduce((sum, r) => sum + (r.event.data as { count: number }).count, 0);

describe('a retired session with pushes waiting for a poll', () => {
  it('hands the unsent ones to its successor, and counts those sent but unacknowledged', async () => {
    const old = await pair();
    const next = await pair();
    await queue(old, 0, 3);
    old.fates.push('lose-answer'); // frames 0..2 go out, and the answer is lost
    await expect(old.requester.delivery.poll(old.requester.entry)).rejects.toMatchObject({
      code: 'ERR_PEER_UNREACHABLE',
    });
    await queue(old, 3, 2);
    old.responder.delivery.retireOutbox(old.responder.entry, next.responder.entry);
    expect(old.responder.entry.outbox).toHaveLength(0);
    expect(old.responder.entry.session.info().pushes.dropped).toBe(3);
    expect(old.responder.delivery.stats().pushes.dropped).toBe(3);

    expect(next.responder.entry.outbox.map((q) => q.n)).toEqual([1, 2]);
    expect(await next.requester.delivery.poll(next.requester.entry)).toBe(2);
    expect(next.requester.received.map((r) => r.n)).toEqual([3, 4]);
    expect(next.requester.entry.session.info().stats.failures['decrypt-failed']).toBe(0);
  });

  it('counts every push it held as dropped when nothing takes over, and logs them', async () => {
    const p = await pair();
    await queue(p, 0, 4);
    p.responder.delivery.retireOutbox(p.responder.entry);
    p.responder.entry.session.close('expired');
    expect(p.responder.entry.outbox).toHaveLength(0);
    expect(p.responder.delivery.stats().pushes).toEqual({ dropped: 4, missed: 0 });
    expect(p.responder.entry.session.info().pushes.dropped).toBe(4);
    expect(dropsLogged(p)).toBe(4);
  });
});
