/**
 * Rooms between real peer processes on loopback (issue #4): joins by password (after discovery)
 * and by invite code, messages both ways in one host-assigned order, push delivery (SSE `message`
 * events), polling with `--no-push`, owner approval, and idempotent sends. Restarts:
 * `rooms-restart.int.test.ts`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { testPeers, uniqueMulticastGroup } from '../support/peer-process.js';
import {
  clientOf,
  createRoom,
  expectStatus,
  invite,
  isContiguous,
  joinRoom,
  readMessages,
  send,
  textsOf,
  waitForMessages,
  waitForRoom,
  watchEvents,
  type EventWatch,
  type RoomClient,
} from '../support/rooms.js';

const lab = testPeers();
const watches: EventWatch[] = [];
afterEach(async () => {
  for (const w of watches.splice(0)) w.close();
  await lab.cleanup();
});

async function watch(
  label: string,
  c: { p: { ready: { apiUrl: string } }; auth: Record<string, string> },
) {
  const w = await watchEvents(label, c.p.ready.apiUrl, c.auth);
  watches.push(w);
  return w;
}

describe('rooms between real peer processes', () => {
  it('A hosts, B joins by password after discovery, C by invite; all send and see one order, pushed live', async () => {
    const group = uniqueMulticastGroup();
    const [ta, tb, tc] = [
      await lab.start('alice', ['--multicast', group]),
      await lab.start('bob', ['--multicast', group]),
      await lab.start('carol', ['--no-discovery']),
    ];
    const [a, b, c] = [clientOf('alice', ta), clientOf('bob', tb), clientOf('carol', tc)];
    const room = await createRoom(a, { name: 'lounge', password: 'correct horse battery' });
    expect(room).toMatchObject({ name: 'lounge', policy: 'password', joined: true, role: 'owner' });

    // B finds the room in A's beacons and joins it by name with the password
    await waitForRoom(b, (r) => r.name === 'lounge' && r.state === 'discovered');
    const jb = expectStatus(
      await joinRoom(b, 'lounge', { password: 'correct horse battery' }),
      200,
      'bob join',
    );
    expect(jb.json).toMatchObject({ roomId: room.roomId, joined: true, role: 'member' });
    // C has no discovery at all: the invite code carries the host id and its URLs
    const jc = expectStatus(
      await joinRoom(c, room.roomId, { invite: await invite(a, room.roomId) }),
      200,
      'carol join',
    );
    expect(jc.json).toMatchObject({ roomId: room.roomId, joined: true, members: 3 });

    const members = await a.call('GET', `/api/rooms/${room.roomId}/members`);
    expect(members.json.map((m: { name: string }) => m.name).sort()).toEqual([
      'alice',
      'bob',
      'carol',
    ]);
    // both members hold a live push link to the host (so nothing below arrives by polling)
    for (const m of [b, c]) {
      const seen = await m.call('GET', `/api/rooms/${room.roomId}/members`);
      expect(seen.json.find((x: { peerId: string }) => x.peerId === a.peerId)).toMatchObject({
        online: true,
      });
    }

    const sse = await Promise.all([watch('alice', ta), watch('bob', tb), watch('carol', tc)]);
    const script: Array<[RoomClient, string]> = [
      [a, 'alice: welcome, everyone'],
      [b, 'bob: thanks alice ✓'],
      [c, 'carol: hello from carol 🌻'],
      [b, 'bob: second from bob'],
      [a, 'alice: second from alice'],
      [c, 'carol: and the last word'],
    ];
    const seqs: number[] = [];
    for (const [who, text] of script) {
      const r = await send(who, room.roomId, text);
      expect(r).toMatchObject({ epoch: 1 });
      seqs.push(r.seq);
      // every peer is told about it on its event stream, the sender included
      for (const [i, w] of sse.entries())
        await w.waitFor(
          (e) => e.event === 'message' && e.data.roomId === room.roomId && e.data.text === text,
          10_000,
          `"${text}" at peer ${i}`,
        );
    }
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);

    const expected = script.map(([who, text], i) => ({
      seq: i + 1,
      text,
      sender: who.peerId,
      senderName: who.label,
      roomId: room.roomId,
      epoch: 1,
    }));
    for (const who of [a, b, c]) {
      const rows = await waitForMessages(who, room.roomId, (r) => r.length === 6);
      expect(
        rows.map(({ seq, text, sender, senderName, roomId, epoch }) => ({
          seq,
          text,
          sender,
          senderName,
          roomId,
          epoch,
        })),
      ).toEqual(expected);
      expect(rows.every((m) => m.error === undefined)).toBe(true);
    }
    // the pushed events carry the same seq as the stored rows
    for (const w of sse) {
      const pushed = w.events
        .filter((e) => e.event === 'message' && e.data.roomId === room.roomId)
        .map((e) => [e.data.seq, e.data.text]);
      expect(pushed).toEqual(expected.map((m) => [m.seq, m.text]));
    }
  }, 90_000);

  it('a member started with --no-push receives (and sends) by polling', async () => {
    const ta = await lab.start('alice', ['--no-discovery']);
    const td = await lab.start('dave', ['--no-discovery', '--no-push']);
    const [a, d] = [clientOf('alice', ta), clientOf('dave', td)];
    const room = await createRoom(a, { name: 'quiet', policy: 'invite' });
    expectStatus(
      await joinRoom(d, room.roomId, { invite: await invite(a, room.roomId) }),
      200,
      'dave join',
    );
    const seen = await d.call('GET', `/api/rooms/${room.roomId}/members`);
    expect(seen.json.find((x: { peerId: string }) => x.peerId === a.peerId)).toMatchObject({
      online: false,
    });
    await send(a, room.roomId, 'one, while dave polls');
    await send(a, room.roomId, 'two, while dave polls');
    const rows = await waitForMessages(d, room.roomId, (r) => r.length === 2, {
      what: 'two polled messages',
    });
    expect(textsOf(rows)).toEqual(['one, while dave polls', 'two, while dave polls']);
    expect(rows.map((m) => m.senderName)).toEqual(['alice', 'alice']);
    const r = await send(d, room.roomId, 'dave answers without a link');
    expect(r.seq).toBe(3);
    const hostRows = await waitForMessages(a, room.roomId, (x) => x.length === 3);
    expect(hostRows[2]).toMatchObject({ seq: 3, senderName: 'dave', sender: d.peerId });
    await waitForMessages(d, room.roomId, (x) => x.length === 3 && isContiguous(x));
  }, 60_000);

  it('approval policy: a join waits (202) until the owner approves, then the member sends', async () => {
    const group = uniqueMulticastGroup();
    const ta = await lab.start('alice', ['--multicast', group]);
    const te = await lab.start('erin', ['--multicast', group]);
    const [a, e] = [clientOf('alice', ta), clientOf('erin', te)];
    const room = await createRoom(a, { name: 'vetted', policy: 'approval' });
    await waitForRoom(e, (r) => r.name === 'vetted');
    const pending = expectStatus(await joinRoom(e, 'vetted'), 202, 'erin join');
    expect(pending.json).toMatchObject({ awaitingApproval: true, roomId: room.roomId });
    const refused = await e.call('POST', `/api/rooms/${room.roomId}/messages`, { text: 'early' });
    expect(refused.json.code).toBe('ERR_NOT_MEMBER');

    const listed = await waitForRoom(a, (r) => r.roomId === room.roomId);
    expect(listed.pending).toEqual([{ peerId: e.peerId, name: 'erin' }]);
    expectStatus(
      await a.call('POST', `/api/rooms/${room.roomId}/requests/${e.peerId.slice(0, 12)}/approve`),
      200,
      'approve',
    );
    await waitForRoom(e, (r) => r.roomId === room.roomId && r.joined);
    const sent = await send(e, room.roomId, 'thanks for letting me in');
    expect(sent.seq).toBe(1);
    const rows = await waitForMessages(a, room.roomId, (r) => r.length === 1);
    expect(rows[0]).toMatchObject({ text: 'thanks for letting me in', senderName: 'erin' });
  }, 60_000);

  it('sends are idempotent by id: the same id again answers the same seq and stores one message', async () => {
    const ta = await lab.start('alice', ['--no-discovery']);
    const tb = await lab.start('bob', ['--no-discovery']);
    const [a, b] = [clientOf('alice', ta), clientOf('bob', tb)];
    const room = await createRoom(a, { name: 'once', policy: 'invite' });
    expectStatus(
      await joinRoom(b, room.roomId, { invite: await invite(a, room.roomId) }),
      200,
      'j',
    );
    const key = ({ id, seq, epoch }: { id: string; seq: number; epoch: number }) => ({
      id,
      seq,
      epoch,
    });

    const first = await send(b, room.roomId, 'exactly once', 'bob-msg-0001');
    expect(key(await send(b, room.roomId, 'exactly once', 'bob-msg-0001'))).toEqual(key(first));
    const hostFirst = await send(a, room.roomId, 'host once', 'alice-msg-0001');
    expect(await send(a, room.roomId, 'host once', 'alice-msg-0001')).toEqual(hostFirst);
    // again, once the member has the message in its own history: the very same answer
    await waitForMessages(b, room.roomId, (r) => r.length === 2);
    expect(await send(b, room.roomId, 'exactly once', 'bob-msg-0001')).toEqual(
      await send(b, room.roomId, 'exactly once', 'bob-msg-0001'),
    );
    for (const who of [a, b]) {
      const rows = await readMessages(who, room.roomId);
      expect(rows.map((r) => [r.seq, r.id, r.text])).toEqual([
        [1, 'bob-msg-0001', 'exactly once'],
        [2, 'alice-msg-0001', 'host once'],
      ]);
    }
  }, 60_000);

  it('concurrent sends with the same id both answer the same result', async () => {
    const ta = await lab.start('alice', ['--no-discovery']);
    const tb = await lab.start('bob', ['--no-discovery']);
    const [a, b] = [clientOf('alice', ta), clientOf('bob', tb)];
    const room = await createRoom(a, { name: 'twice', policy: 'invite' });
    expectStatus(
      await joinRoom(b, room.roomId, { invite: await invite(a, room.roomId) }),
      200,
      'j',
    );
    const body = { text: 'retry storm', id: 'bob-retry-0001' };
    const [r1, r2] = await Promise.all([
      b.call('POST', `/api/rooms/${room.roomId}/messages`, body),
      b.call('POST', `/api/rooms/${room.roomId}/messages`, body),
    ]);
    expect([r1.status, r2.status], JSON.stringify([r1.json, r2.json])).toEqual([201, 201]);
    expect(r2.json).toEqual(r1.json);
    expect(await readMessages(a, room.roomId)).toHaveLength(1);
  }, 60_000);
});
