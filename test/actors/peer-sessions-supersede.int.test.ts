/**
 * Pushes queued for a polling requester (protocol §3.6) when its session ends: a new handshake of
 * the same requester takes them over (they were never sealed, so the new session seals them), and
 * a session that ends otherwise counts them as dropped. Two PeerSessions over real HTTP on
 * loopback with links off.
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

describe('pushes queued for a requester that handshakes again', () => {
  it('are delivered on the new session, in order, and none is counted as lost', async () => {
    const a = await linklessPeer('a', stops);
    const b = await linklessPeer('b', stops);
    const old = await a.sessions.connect({ url: b.url, expectedPeerId: b.id });
    for (let n = 0; n < 3; n++) {
      await expect(b.sessions.push(a.id, { type: 'test.frame', n })).resolves.toBe('queued');
    }
    // Before a's first poll (every 2 s) on the old session.
    const renewed = await a.sessions.connect({ url: b.url, expectedPeerId: b.id });
    expect(renewed.sessionId).not.toBe(old.sessionId);
    await expect(b.sessions.push(a.id, { type: 'test.frame', n: 3 })).resolves.toBe('queued');
    await until(() => a.pushes.length === 4, 'the queued pushes on the new session');
    expect(a.pushes.map((p) => p.n)).toEqual([0, 1, 2, 3]);
    expect(b.sessions.stats().pushes).toEqual({ dropped: 0, missed: 0 });
    expect(a.sessions.stats().pushes).toEqual({ dropped: 0, missed: 0 });
  }, 20_000);
});

describe('pushes queued when the sessions shut down', () => {
  it('are counted as dropped', async () => {
    const a = await linklessPeer('a', stops);
    const b = await linklessPeer('b', stops);
    await a.sessions.connect({ url: b.url, expectedPeerId: b.id });
    for (let n = 0; n < 3; n++) {
      await expect(b.sessions.push(a.id, { type: 'test.frame', n })).resolves.toBe('queued');
    }
    b.sessions.close();
    expect(b.sessions.stats().pushes).toEqual({ dropped: 3, missed: 0 });
  });
});
