/**
 * Rooms across restarts with durable stores (real peer processes on loopback): a member that was
 * down catches up without gaps and keeps its history; a host restarted on its port keeps the
 * room going; what a crash or a SIGTERM of the host must (and currently does not) preserve.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startDurablePeer } from '../support/durable-log.js';
import { startPeer, testPeers } from '../support/peer-process.js';
import {
  clientOf,
  createRoom,
  expectStatus,
  freePort,
  invite,
  isContiguous,
  joinRoom,
  loopbackClient,
  readMessages,
  send,
  textsOf,
  waitForLogged,
  waitForMessages,
} from '../support/rooms.js';

const lab = testPeers();
afterEach(() => lab.cleanup());

describe('rooms across restarts', () => {
  it('a durable member stopped while messages are sent catches up after restart, without gaps', async () => {
    const ta = await lab.start('alice', ['--no-discovery']);
    const a = clientOf('alice', ta);
    const m1 = await startDurablePeer(lab, 'mallory', ['--no-discovery']);
    let m = loopbackClient('mallory', m1.p.ready, m1.auth);
    const room = await createRoom(a, { name: 'archive', policy: 'invite' });
    expectStatus(
      await joinRoom(m, room.roomId, { invite: await invite(a, room.roomId) }),
      200,
      'join',
    );
    await send(a, room.roomId, 'before 1');
    await send(m, room.roomId, 'before 2 (from mallory)');
    await send(a, room.roomId, 'before 3');
    await waitForMessages(m, room.roomId, (r) => r.length === 3);

    expect(await m1.p.stop('SIGTERM')).toBe(0);
    const during = Array.from({ length: 7 }, (_, i) => `while down ${i + 1}`);
    for (const text of during) await send(a, room.roomId, text);

    const m2 = lab.track(
      await startPeer([
        '--data-dir',
        m1.dir,
        '--store',
        m1.log,
        '--port',
        '0',
        '--api-port',
        '0',
        '--name',
        'mallory',
        '--no-discovery',
      ]),
    );
    expect(m2.ready.peerId).toBe(m1.p.ready.peerId);
    m = loopbackClient('mallory', m2.ready, m1.auth);
    const all = ['before 1', 'before 2 (from mallory)', 'before 3', ...during];
    const rows = await waitForMessages(m, room.roomId, (r) => r.length === all.length, {
      what: 'catch-up after restart',
      timeoutMs: 30_000,
    });
    expect(isContiguous(rows)).toBe(true);
    expect(textsOf(rows)).toEqual(all);
    expect(rows.every((r) => r.error === undefined)).toBe(true);
    // history from before the restart comes back from the log + keystore, not from the host
    expect(await readMessages(m, room.roomId, 0, 3)).toEqual(rows.slice(0, 3));
    // and the restarted member is a full member again
    const again = await send(m, room.roomId, 'back again');
    expect(again.seq).toBe(all.length + 1);
    const hostRows = await waitForMessages(a, room.roomId, (r) => r.length === all.length + 1);
    expect(hostRows.at(-1)).toMatchObject({ text: 'back again', senderName: 'mallory' });
  }, 90_000);

  it('a durable host restarted on its port (after its log caught up) keeps the room going', async () => {
    const port = await freePort();
    const hostArgs = ['--port', String(port), '--no-discovery'];
    const h1 = await startDurablePeer(lab, 'hal', hostArgs);
    let host = loopbackClient('hal', h1.p.ready, h1.auth);
    const tb = await lab.start('bob', ['--no-discovery']);
    const b = clientOf('bob', tb);
    const room = await createRoom(host, { name: 'sturdy', policy: 'invite' });
    expectStatus(
      await joinRoom(b, room.roomId, { invite: await invite(host, room.roomId) }),
      200,
      'j',
    );
    await send(host, room.roomId, 'before 1');
    await send(b, room.roomId, 'before 2');
    await waitForLogged(host, `room:${room.roomId}`, 'message.sequence', 2);
    await h1.p.stop('SIGKILL'); // see the SIGTERM bug below

    const h2 = lab.track(
      await startPeer([
        '--data-dir',
        h1.dir,
        '--store',
        h1.log,
        '--api-port',
        '0',
        '--name',
        'hal',
        ...hostArgs,
      ]),
    );
    host = loopbackClient('hal', h2.ready, h1.auth);
    expect(textsOf(await readMessages(host, room.roomId))).toEqual(['before 1', 'before 2']);
    // bob (its link gone, so polling) re-handshakes with the restarted host on its own
    await send(host, room.roomId, 'after 3');
    await waitForMessages(b, room.roomId, (r) => r.length === 3, {
      what: 'catch-up',
      timeoutMs: 30_000,
    });
    expect((await send(b, room.roomId, 'after 4')).seq).toBe(4);
    for (const who of [host, b]) {
      const rows = await waitForMessages(who, room.roomId, (r) => r.length === 4);
      expect(isContiguous(rows)).toBe(true);
      expect(textsOf(rows)).toEqual(['before 1', 'before 2', 'after 3', 'after 4']);
    }
  }, 90_000);

  it('a member’s first send after the host restarted goes through', async () => {
    const port = await freePort();
    const hostArgs = ['--port', String(port), '--no-discovery'];
    const h1 = await startDurablePeer(lab, 'hal', hostArgs);
    const tb = await lab.start('bob', ['--no-discovery']);
    const b = clientOf('bob', tb);
    const host = loopbackClient('hal', h1.p.ready, h1.auth);
    const room = await createRoom(host, { name: 'again', policy: 'invite' });
    expectStatus(
      await joinRoom(b, room.roomId, { invite: await invite(host, room.roomId) }),
      200,
      'j',
    );
    await send(b, room.roomId, 'before');
    await waitForLogged(host, `room:${room.roomId}`, 'message.sequence', 1);
    await h1.p.stop('SIGKILL');
    lab.track(
      await startPeer(['--data-dir', h1.dir, '--store', h1.log, '--api-port', '0', ...hostArgs]),
    );
    expect((await send(b, room.roomId, 'right after the restart')).seq).toBe(2);
  }, 60_000);

  it('a durable host killed right after acknowledging keeps every acknowledged message', async () => {
    const h = await startDurablePeer(lab, 'hal', ['--no-discovery']);
    let cur = h.p;
    let host = loopbackClient('hal', cur.ready, h.auth);
    const room = await createRoom(host, { name: 'crashy', policy: 'invite' });
    const acked: string[] = [];
    for (let round = 0; round < 4; round++) {
      const burst = Array.from({ length: 4 }, (_, i) => `round ${round} message ${i}`);
      for (const r of await Promise.all(burst.map((t) => send(host, room.roomId, t))))
        expect(r.seq).toBeGreaterThan(0);
      acked.push(...burst);
      await cur.stop('SIGKILL'); // right after the last 201
      cur = lab.track(
        await startPeer([
          '--data-dir',
          h.dir,
          '--store',
          h.log,
          '--port',
          '0',
          '--api-port',
          '0',
          '--no-discovery',
        ]),
      );
      host = loopbackClient('hal', cur.ready, h.auth);
      const rows = await readMessages(host, room.roomId);
      expect(rows.length, `messages after crash ${round + 1}`).toBe(acked.length);
    }
  }, 120_000);

  it('a host with pushed members exits 0 on SIGTERM, and its room survives the restart', async () => {
    const h1 = await startDurablePeer(lab, 'hal', ['--no-discovery']);
    const host = loopbackClient('hal', h1.p.ready, h1.auth);
    const tb = await lab.start('bob', ['--no-discovery']);
    const room = await createRoom(host, { name: 'graceful', policy: 'invite' });
    const b = clientOf('bob', tb);
    expectStatus(
      await joinRoom(b, room.roomId, { invite: await invite(host, room.roomId) }),
      200,
      'j',
    );
    await send(b, room.roomId, 'before the stop');
    const code = await Promise.race([
      h1.p.stop('SIGTERM'),
      new Promise((r) => setTimeout(() => r('still running after 30 s'), 30_000)),
    ]);
    expect(code).toBe(0);
    const h2 = lab.track(
      await startPeer([
        '--data-dir',
        h1.dir,
        '--store',
        h1.log,
        '--port',
        '0',
        '--api-port',
        '0',
        '--no-discovery',
      ]),
    );
    const rows = await readMessages(loopbackClient('hal', h2.ready, h1.auth), room.roomId);
    expect(textsOf(rows)).toEqual(['before the stop']);
  }, 90_000);
});
