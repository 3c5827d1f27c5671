/**
 * `conclave connect <our own peer URL>` is refused with a clear error (`wrong-peer`: that address
 * is this peer), opens no session and pins nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { testPeers } from '../support/peer-process.js';
import { clientOf } from '../support/rooms.js';

const lab = testPeers();
afterEach(() => lab.cleanup());

describe('connect to self', () => {
  it('is refused with a clear error and pins nothing', async () => {
    const t = await lab.start('me', ['--no-discovery']);
    const me = clientOf('me', t);
    const r = await me.call('POST', '/api/peers/connect', { url: t.p.ready.peerUrl });
    expect(r.status).toBe(422);
    expect(r.json).toMatchObject({
      code: 'ERR_HANDSHAKE_FAILED',
      details: { reason: 'wrong-peer' },
    });
    expect(r.json.detail).toContain('this peer');
    expect((await me.call('GET', '/api/peers')).json).toEqual([]);
  }, 60_000);
});
