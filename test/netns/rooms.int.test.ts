/**
 * A room across three network namespaces on a private bridge: A hosts a password room, B finds it
 * in A's beacons and joins with the password, C joins with an invite code (which carries A's
 * address on the bridge); all three send and read one order. Needs root and `ip netns`;
 * otherwise skips loudly.
 */
import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createNetnsLab, probeNetns, type NetnsLab } from '../support/netns.js';
import { nsRequestJson, startLabPeer, type NsPeer } from '../support/netns-peer.js';
import {
  createRoom,
  expectStatus,
  invite,
  isContiguous,
  joinRoom,
  send,
  waitForMessages,
  waitForRoom,
  type RoomClient,
} from '../support/rooms.js';

const probe = await probeNetns();
if (!probe.ok)
  console.warn(`\n*** NETNS ROOMS: SKIPPED (${probe.reason}); run as root on Linux ***\n`);

function nsClient(lab: NetnsLab, p: NsPeer, token: string, label: string): RoomClient {
  return {
    label,
    peerId: p.ready.peerId,
    call(method, path, body) {
      if (method === 'DELETE') throw new Error('nsRequestJson speaks GET and POST only');
      return nsRequestJson(
        lab,
        p.node.ns,
        method,
        `${p.ready.apiUrl}${path}`,
        { authorization: `Bearer ${token}` },
        body ?? (method === 'POST' ? {} : undefined),
      );
    },
  };
}

describe.skipIf(!probe.ok)('a room across three network namespaces', () => {
  it('password join after discovery, invite join, messages both ways in one order', async () => {
    const lab = await createNetnsLab(3);
    const dirs: string[] = [];
    const peers: NsPeer[] = [];
    try {
      const names = ['alice', 'bob', 'carol'];
      const clients: RoomClient[] = [];
      for (const [i, node] of lab.nodes.entries()) {
        const p = await startLabPeer(lab, node, names[i]!, dirs);
        peers.push(p);
        clients.push(nsClient(lab, p, p.token, names[i]!));
      }
      const [a, b, c] = clients as [RoomClient, RoomClient, RoomClient];

      const room = await createRoom(a, { name: 'bridge', password: 'across the veth' });
      await waitForRoom(b, (r) => r.name === 'bridge' && r.state === 'discovered', 30_000);
      const jb = expectStatus(
        await joinRoom(b, 'bridge', { password: 'across the veth' }),
        200,
        'bob join',
      );
      expect(jb.json).toMatchObject({ roomId: room.roomId, joined: true });
      const code = await invite(a, room.roomId);
      // the invite names A by its address on the bridge, not loopback
      const decoded = JSON.parse(Buffer.from(code.slice(4), 'base64url').toString('utf8'));
      expect(decoded.u).toContain(`http://${lab.nodes[0]!.address}:7400`);
      expectStatus(await joinRoom(c, room.roomId, { invite: code }), 200, 'carol join');

      const script: Array<[RoomClient, string]> = [
        [a, 'alice over the bridge'],
        [b, 'bob answers from ns 2'],
        [c, 'carol answers from ns 3'],
        [b, 'bob again'],
        [a, 'alice closes'],
      ];
      for (const [who, text] of script) await send(who, room.roomId, text);
      for (const who of clients) {
        const rows = await waitForMessages(who, room.roomId, (r) => r.length === script.length, {
          timeoutMs: 30_000,
          intervalMs: 500,
        });
        expect(isContiguous(rows)).toBe(true);
        expect(rows.map((r) => [r.senderName, r.text])).toEqual(
          script.map(([w, t]) => [w.label, t]),
        );
        expect(rows.map((r) => r.sender)).toEqual(script.map(([w]) => w.peerId));
      }
    } finally {
      await Promise.all(peers.map((p) => p.stop('SIGKILL')));
      await lab.destroy();
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    }
  }, 120_000);
});
