/**
 * `conclave block PEER` ends the sessions the peer already holds: its sealed requests are answered
 * as for an unknown session, and its next handshake (to join a room) is refused as `blocked`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { testPeers } from '../support/peer-process.js';
import { clientOf, createRoom, expectStatus, invite, joinRoom } from '../support/rooms.js';

const lab = testPeers();
afterEach(() => lab.cleanup());

describe('block with a live session', () => {
  it('closes the blocked peer’s session; it gets no room key', async () => {
    const th = await lab.start('host', ['--no-discovery']);
    const tm = await lab.start('mallory', ['--no-discovery']);
    const host = clientOf('host', th);
    const mal = clientOf('mallory', tm);

    expectStatus(
      await mal.call('POST', '/api/peers/connect', { url: th.p.ready.peerUrl }),
      200,
      'connect',
    );
    const blocked = expectStatus(
      await host.call('POST', `/api/peers/${mal.peerId}/block`, {}),
      200,
      'block',
    );
    expect(blocked.json).toMatchObject({ state: 'blocked' });
    const peers = (await host.call('GET', '/api/peers')).json as Array<{
      peerId: string;
      session: unknown;
    }>;
    expect(peers.find((p) => p.peerId === mal.peerId)).toMatchObject({ session: null });

    const room = await createRoom(host, { name: 'private', policy: 'invite' });
    const code = await invite(host, room.roomId);
    const ping = await mal.call('POST', `/api/peers/${host.peerId}/ping`, {});
    expect(ping.status).not.toBe(200);
    expect(ping.json).toMatchObject({ details: { reason: 'unknown-session' } });
    const join = await joinRoom(mal, room.roomId, { invite: code });
    expect(join.status).not.toBe(200);
    const members = await host.call('GET', `/api/rooms/${room.roomId}/members`);
    expect(members.json.map((m: { name: string }) => m.name)).toEqual(['host']);
  }, 60_000);
});
