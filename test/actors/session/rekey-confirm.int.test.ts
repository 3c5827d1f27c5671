/**
 * A lost `rekey.confirm` through the delivery layer: the requester has its link up and sends
 * nothing of its own, so only the responder's pushes tell it that the confirmation never arrived.
 * Real sessions and crypto, real HTTP on loopback, an in-memory link, a controlled clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  deliveryPair,
  rekeyLosingConfirmation,
  until,
  type DeliveryPair,
} from './delivery-pair.js';

const GRACE = 30_000;
const pairs: DeliveryPair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

describe('a re-key whose confirmation is lost in transit', () => {
  it('keeps the responder’s later pushes readable, re-sends the confirmation and then wipes the old keys', async () => {
    const p = await deliveryPair({ rekeyAfterMessages: 4, graceMs: GRACE });
    pairs.push(p);
    const { requester: a, responder: b } = p;
    await rekeyLosingConfirmation(p, ['lose-request']); // its `rekey.confirm` does not arrive
    expect(a.entry.session.info().epoch).toBe(1);
    expect(b.entry.session.info().epoch).toBe(0);

    p.clock.advance(GRACE + 1_000);
    for (const n of [1, 2]) {
      await expect(b.delivery.deliver(b.entry, { type: 'test.frame', n })).resolves.toBe('link');
    }
    await until(() => a.received.length === 2, 'both pushes sealed under epoch 0');
    expect(a.entry.session.info().stats.failures['unknown-epoch']).toBe(0);
    // Opening them re-sent the confirmation in the background: the responder moves on.
    await until(() => b.entry.session.info().epoch === 1, 'the responder on epoch 1');
    await until(() => a.entry.session.info().stats.rekey === 'idle', 'the confirmation answered');

    await b.delivery.deliver(b.entry, { type: 'test.frame', n: 3 });
    await until(() => a.received.length === 3, 'a push under epoch 1');
    expect(a.received.map((r) => r.n)).toEqual([1, 2, 3]);
    expect(a.entry.session.info().stats.heldEpochs).toEqual([0, 1]);
    p.clock.advance(GRACE + 1);
    expect(a.entry.session.info().stats.heldEpochs).toEqual([1]);
    expect(b.entry.session.info().stats.heldEpochs).toEqual([1]);
  });
});
