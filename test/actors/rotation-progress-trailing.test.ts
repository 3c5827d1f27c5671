/**
 * Rotation progress on the local feed (`rotation` events, "k of n acked") is rate-limited to one
 * event per 100 ms; an ack that lands inside that window is published when it ends (it used to be
 * dropped, the feed showing a stale k until the deadline commit).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRotationNet,
  rotationEvents,
  until,
  type RotationNet,
} from '../support/rotation-net.js';

let net: RotationNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

describe('rotation progress on /api/events', () => {
  it('shows the latest acked count within a moment of the last ack', async () => {
    net = createRotationNet({ deadlineMs: 5_000, retryMs: 10_000 });
    const a = await net.add('alice');
    const b = await net.add('bob');
    const c = await net.add('carol');
    const d = await net.add('dave');
    const { roomId } = await a.rooms.create({ name: 'den', policy: 'open' });
    for (const p of [b, c, d]) await p.rooms.join(roomId, {});
    c.setOnline(false);
    d.setOnline(false); // the laggard: the rotation waits for the deadline
    const running = a.rooms.rotate(roomId);
    const acked = (): number => {
      const r = a.rooms.list().find((x) => x.roomId === roomId)?.rotating;
      return r ? r.acked : -1;
    };
    await until(() => acked() === 1, 'bob’s ack');
    await new Promise((r) => setTimeout(r, 20));
    c.setOnline(true); // carol comes back, fetches the key, acks (within 100 ms of bob)
    await until(() => acked() === 2, 'carol’s ack');
    await new Promise((r) => setTimeout(r, 500));
    const progress = rotationEvents(a).filter((e) => e['roomId'] === roomId && e['epoch'] === 2);
    const last = progress.at(-1);
    expect(last?.['state']).toBe('distributing');
    // the runtime knows 2 of 3 acked; the feed still says 1 of 3, and will until the deadline
    expect(last?.['acked']).toBe(2);
    await running;
  });
});
