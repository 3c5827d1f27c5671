/**
 * Two PeerSessions over real HTTP on loopback with links off: the responder's pushes wait for
 * the requester's polls, however many and however large they are (protocol §3.6).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { linklessPeer } from '../support/session-api.js';
import { until } from './session/delivery-pair.js';

let stops: Array<() => unknown> = [];
afterEach(async () => {
  const pending = stops.reverse();
  stops = [];
  for (const stop of pending) await stop();
});

describe('queued pushes to a requester that polls', () => {
  it('all arrive, once, within two poll periods, when they exceed one poll answer', async () => {
    const a = await linklessPeer('a', stops);
    const b = await linklessPeer('b', stops);
    expect(await a.sessions.connect({ url: b.url, expectedPeerId: b.id })).toMatchObject({
      link: 'down',
    });
    for (let n = 0; n < 8; n++) {
      const pad = 'x'.repeat(6_000);
      await expect(b.sessions.push(a.id, { type: 'test.frame', n, pad })).resolves.toBe('queued');
    }
    await until(() => a.pushes.length === 8, 'eight queued pushes'); // 5 s: two poll periods
    await new Promise((r) => setTimeout(r, 2_500)); // one more poll: nothing arrives twice
    expect(a.pushes.map((p) => p.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  }, 30_000);
});
