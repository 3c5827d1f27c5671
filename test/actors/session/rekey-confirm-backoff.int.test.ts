/**
 * A lost `rekey.confirm` through the delivery layer, while the responder keeps pushing under the
 * old epoch (protocol §4.2): the requester answers a burst of pushes with one re-sent
 * confirmation, not one each, re-sends at most once per backoff interval, and a push held back by
 * the backoff still gets its re-send when the wait is over. Real sessions and crypto, real HTTP on
 * loopback, an in-memory link, a controlled session clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  deliveryPair,
  rekeyLosingConfirmation,
  until,
  type DeliveryPair,
} from './delivery-pair.js';

const pairs: DeliveryPair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

/** A re-key by the requester whose confirmation is lost; every later sealed request too. */
async function lostConfirmation(): Promise<DeliveryPair> {
  const p = await deliveryPair({ rekeyAfterMessages: 4 });
  pairs.push(p);
  await rekeyLosingConfirmation(p, Array<'lose-request'>(50).fill('lose-request'));
  expect(p.requester.entry.session.info().stats.rekey).toBe('confirming');
  return p;
}

/** The responder pushes one frame; wait until the requester read it and any re-send settled. */
async function pushOne(p: DeliveryPair, n: number): Promise<void> {
  const { requester: a, responder: b } = p;
  await expect(b.delivery.deliver(b.entry, { type: 'test.frame', n })).resolves.toBe('link');
  await until(() => a.received.some((r) => r.n === n), `push ${n}`);
  await until(() => a.entry.rekeying === undefined, 'the re-send settled');
}

describe('re-sending a lost re-key confirmation', () => {
  it('answers a burst of pushes with one confirmation, then one per doubling interval', async () => {
    const p = await lostConfirmation();
    const { requester: a, responder: b } = p;
    const lost = p.fates.length;
    const resent = (): number => lost - p.fates.length;
    for (let n = 1; n <= 6; n++) await pushOne(p, n);
    expect(resent()).toBe(1);

    p.clock.advance(1_000);
    for (let n = 7; n <= 9; n++) await pushOne(p, n);
    expect(resent()).toBe(2);
    p.clock.advance(1_000); // 1 s of the 2 s wait
    await pushOne(p, 10);
    expect(resent()).toBe(2);

    p.fates.fill('pass'); // the network recovers
    p.clock.advance(1_000);
    await pushOne(p, 11);
    expect(resent()).toBe(3);
    await until(() => b.entry.session.info().epoch === 1, 'the responder on epoch 1');
    await until(() => a.entry.session.info().stats.rekey === 'idle', 'the confirmation answered');
    expect(a.entry.session.info().stats.failures['unknown-epoch']).toBe(0);
  });

  it('re-sends when the wait is over for a push the backoff held back', async () => {
    const p = await lostConfirmation();
    const { requester: a, responder: b } = p;
    await pushOne(p, 1); // re-sent at once, and lost
    await pushOne(p, 2); // held back: the wait is 1 s
    p.fates.length = 0;
    const before = p.reached.count;
    p.clock.advance(1_000);
    await until(() => b.entry.session.info().epoch === 1, 'the re-sent confirmation arriving');
    await until(() => a.entry.session.info().stats.rekey === 'idle', 'the confirmation answered');
    expect(p.reached.count - before).toBe(1);
  });
});
