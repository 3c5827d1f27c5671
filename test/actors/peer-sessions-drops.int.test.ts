/**
 * Push frames lost to a full poll queue are visible where sessions report themselves: the session
 * view (`GET /api/peers`) and the totals behind `GET /api/metrics`, on both peers (protocol §3.6).
 * Two PeerSessions over real HTTP on loopback with links off.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_OUTBOX } from '../../src/actors/session/push-outbox.js';
import { linklessPeer } from '../support/session-api.js';
import { until } from './session/delivery-pair.js';

let stops: Array<() => unknown> = [];
afterEach(async () => {
  const pending = stops.reverse();
  stops = [];
  for (const stop of pending) await stop();
});

describe('pushes a slow poller never got', () => {
  it('show in the session view and the totals of both peers', async () => {
    const a = await linklessPeer('a', stops);
    const b = await linklessPeer('b', stops);
    await a.sessions.connect({ url: b.url, expectedPeerId: b.id });
    // Queued between two of a's polls (every 2 s): more than the queue holds.
    for (let n = 0; n < MAX_OUTBOX + 44; n++) {
      await expect(b.sessions.push(a.id, { type: 'test.frame', n })).resolves.toBe('queued');
    }
    expect(b.sessions.sessionView(a.id)?.pushes).toEqual({ dropped: 44, missed: 0 });
    expect(b.sessions.stats().pushes).toEqual({ dropped: 44, missed: 0 });

    await until(() => a.pushes.length === MAX_OUTBOX, 'the frames still queued'); // one poll
    expect(a.pushes[0]?.n).toBe(44);
    expect(a.sessions.sessionView(b.id)?.pushes).toEqual({ dropped: 0, missed: 44 });
    expect(a.sessions.stats().pushes).toEqual({ dropped: 0, missed: 44 });
  }, 30_000);
});
