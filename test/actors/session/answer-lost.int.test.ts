/**
 * A sealed request whose answer cannot be read because our session closed while it was away (a
 * new handshake superseded it): the peer acted on it, so the requester reports it as lost, with
 * the reason that keeps it from being sent again (`answer-lost`), not as an unknown session.
 * Real sessions, real crypto, real HTTP on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { deliveryPair, type DeliveryPair } from './delivery-pair.js';

const pairs: DeliveryPair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

describe('an answer that comes after our session closed', () => {
  it('is reported as lost after the peer acted on the request', async () => {
    const p = await deliveryPair();
    pairs.push(p);
    const { requester: a } = p;
    const pending = a.delivery.sendSealed(a.entry, { method: 'POST', path: '/ping', body: {} });
    a.entry.session.close('superseded'); // the request is on its way
    await expect(pending).rejects.toMatchObject({
      code: 'ERR_PEER_UNREACHABLE',
      details: { reason: 'answer-lost' },
    });
    expect(p.reached.count).toBe(1);
  });
});
