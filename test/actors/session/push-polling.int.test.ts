/**
 * Pushes from the responder to a requester without a link wait in the responder's outbox for the
 * requester's sealed polls (protocol §3.6). Real sessions, real crypto, real HTTP on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_POLLED_PUSH_BYTES } from '../../../src/actors/session/push-outbox.js';
import { deliveryPair, until, type DeliveryPair } from './delivery-pair.js';

const pairs: DeliveryPair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

async function pair(): Promise<DeliveryPair> {
  const p = await deliveryPair();
  pairs.push(p);
  return p;
}

/** A push of about `bytes` bytes of JSON. */
const frame = (n: number, bytes = 6_000) => ({ type: 'test.frame', n, pad: 'x'.repeat(bytes) });

async function queue(p: DeliveryPair, from: number, count: number, bytes?: number) {
  for (let n = from; n < from + count; n++) {
    await expect(p.responder.delivery.deliver(p.responder.entry, frame(n, bytes))).resolves.toBe(
      'queued',
    );
  }
}

const numbers = (p: DeliveryPair) => p.requester.received.map((r) => r.n);
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

describe('pushes queued for a polling requester', () => {
  it('delivers many large queued pushes, all of them once and in order', async () => {
    const p = await pair();
    await queue(p, 0, 8); // ~48 KB: more than one sealed answer can carry
    await queue(p, 8, 40, 20_000); // ~800 KB more
    const delivered = await p.requester.delivery.poll(p.requester.entry);
    expect(delivered).toBe(48);
    expect(numbers(p)).toEqual(range(0, 48));
    expect(p.reached.count).toBeGreaterThan(20); // the answers said "more", and it asked again
    // The last answer's frames leave the queue once the next poll acknowledges them.
    expect(await p.requester.delivery.poll(p.requester.entry)).toBe(0);
    expect(p.responder.entry.outbox).toHaveLength(0);
    expect(numbers(p)).toEqual(range(0, 48));
  });

  it('sends a lost poll answer again, and delivers its frames once', async () => {
    const p = await pair();
    await queue(p, 0, 3);
    p.fates.push('lose-answer');
    await expect(p.requester.delivery.poll(p.requester.entry)).rejects.toMatchObject({
      code: 'ERR_PEER_UNREACHABLE',
    });
    expect(p.requester.received).toHaveLength(0);
    expect(p.responder.entry.outbox).toHaveLength(3); // not acknowledged, so still queued
    expect(await p.requester.delivery.poll(p.requester.entry)).toBe(3);
    await queue(p, 3, 2);
    p.fates.push('lose-request'); // the poll carrying the ack of 0..2 never arrives
    await expect(p.requester.delivery.poll(p.requester.entry)).rejects.toMatchObject({
      code: 'ERR_PEER_UNREACHABLE',
    });
    expect(await p.requester.delivery.poll(p.requester.entry)).toBe(2);
    expect(await p.requester.delivery.poll(p.requester.entry)).toBe(0);
    expect(numbers(p)).toEqual(range(0, 5));
    expect(p.requester.entry.session.info().stats.failures.replayed).toBe(0);
  });

  it('runs concurrent polls one after another, delivering each frame once', async () => {
    const p = await pair();
    await queue(p, 0, 10);
    const counts = await Promise.all(
      [1, 2, 3].map(() => p.requester.delivery.poll(p.requester.entry)),
    );
    expect(counts.reduce((x, y) => x + y, 0)).toBe(10);
    expect(numbers(p)).toEqual(range(0, 10));
  });

  it('refuses a push too large for a poll answer, and the queue keeps moving', async () => {
    const p = await pair();
    await queue(p, 0, 1);
    const tooLarge = { type: 'test.frame', n: 99, pad: 'x'.repeat(MAX_POLLED_PUSH_BYTES) };
    await expect(p.responder.delivery.deliver(p.responder.entry, tooLarge)).rejects.toMatchObject({
      code: 'ERR_BODY_TOO_LARGE',
    });
    const largest = { type: 'test.frame', n: 1 };
    const room = MAX_POLLED_PUSH_BYTES - Buffer.byteLength(JSON.stringify({ ...largest, pad: '' }));
    await expect(
      p.responder.delivery.deliver(p.responder.entry, { ...largest, pad: 'x'.repeat(room) }),
    ).resolves.toBe('queued');
    await queue(p, 2, 1);
    expect(await p.requester.delivery.poll(p.requester.entry)).toBe(3);
    expect(numbers(p)).toEqual([0, 1, 2]);
    // Over a link, where a frame may be larger, the same push goes.
    p.connectLink();
    await until(() => p.responder.entry.link?.isOpen === true, 'the link');
    await expect(p.responder.delivery.deliver(p.responder.entry, tooLarge)).resolves.toBe('link');
    await until(() => p.requester.received.length === 4, 'the large push over the link');
  });

  it('sends unacknowledged frames over a new link without delivering them twice', async () => {
    const p = await pair();
    await queue(p, 0, 3);
    expect(await p.requester.delivery.poll(p.requester.entry)).toBe(3); // received, not yet acked
    p.connectLink();
    await until(() => p.responder.entry.link?.isOpen === true, 'the link');
    await expect(p.responder.delivery.deliver(p.responder.entry, frame(3))).resolves.toBe('link');
    await until(() => p.requester.received.length === 4, 'the push over the link');
    expect(numbers(p)).toEqual(range(0, 4));
    expect(p.responder.entry.outbox).toHaveLength(0);
    expect(p.requester.entry.session.info().stats.failures.replayed).toBe(3);
  });

  it('polls by itself, and fetches at once what one answer could not carry', async () => {
    const p = await pair();
    p.requester.delivery.schedulePoll(p.requester.entry);
    await queue(p, 0, 8);
    await until(() => p.requester.received.length === 8, 'eight frames by polling');
    expect(numbers(p)).toEqual(range(0, 8));
  });
});
