/**
 * Room key rotation between real peer processes (issue #5): a durable host is stopped while a
 * rotation is still distributing (one member is down, and the default deadline is 30 s), comes
 * back from its data dir and log, and finishes the rotation once the member returns; every member
 * then holds the room's epoch and reads what is sent under it. The host's `rotation` events on
 * `/api/events` show how many of the members acked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startPeer, testPeers } from '../support/peer-process.js';
import { startDurablePeer, type DurablePeer } from '../support/durable-log.js';
import {
  clientOf,
  createRoom,
  expectStatus,
  freePort,
  invite,
  joinRoom,
  loopbackClient,
  send,
  textsOf,
  waitForMessages,
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

async function watch(label: string, apiUrl: string, auth: Record<string, string>) {
  const w = await watchEvents(label, apiUrl, auth);
  watches.push(w);
  return w;
}

/** Start a durable peer again from its data dir and log (same peer port when given). */
async function restart(
  d: DurablePeer,
  name: string,
  extra: string[],
): Promise<{ client: RoomClient; apiUrl: string }> {
  const p = lab.track(
    await startPeer([
      '--data-dir',
      d.dir,
      '--store',
      d.log,
      '--api-port',
      '0',
      '--name',
      name,
      ...extra,
    ]),
  );
  expect(p.ready.peerId).toBe(d.p.ready.peerId);
  return { client: loopbackClient(name, p.ready, d.auth), apiUrl: p.ready.apiUrl };
}

interface Member {
  peerId: string;
  name: string;
  epoch: number;
}

async function poll<T>(
  what: string,
  get: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const end = performance.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await get();
      if (ok(last)) return last;
    } catch {
      // the peer may be between restarts
    }
    if (performance.now() > end)
      throw new Error(`${what} not seen in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('key rotation between real peer processes', () => {
  it('a durable host restarted mid-rotation resumes it; every member ends on the new epoch and reads what follows', async () => {
    // Members poll (--no-push): a host holding inbound push links does not exit on SIGTERM (known
    // bug, see test/cli/rooms-restart.int.test.ts). The host keeps its peer port across restarts.
    const hostArgs = ['--no-discovery', '--port', String(await freePort())];
    const memberArgs = ['--no-discovery', '--no-push'];
    const ad = await startDurablePeer(lab, 'alice', hostArgs);
    let a = loopbackClient('alice', ad.p.ready, ad.auth);
    const tb = await lab.start('bob', memberArgs);
    const b = clientOf('bob', tb);
    const cd = await startDurablePeer(lab, 'carol', memberArgs);
    let c = loopbackClient('carol', cd.p.ready, cd.auth);
    const { roomId } = await createRoom(a, { name: 'vault', policy: 'invite' });
    for (const m of [b, c])
      expectStatus(await joinRoom(m, roomId, { invite: await invite(a, roomId) }), 200, 'join');
    await send(a, roomId, 'epoch 1 from alice');
    await send(c, roomId, 'epoch 1 from carol');
    for (const m of [a, b, c]) await waitForMessages(m, roomId, (r) => r.length === 2);

    // carol goes down: the rotation cannot finish (30 s default deadline)
    const sse = await watch('alice', ad.p.ready.apiUrl, ad.auth);
    expect(await cd.p.stop('SIGTERM')).toBe(0);
    const started = expectStatus(
      await a.call('POST', `/api/rooms/${roomId}/rotate`),
      202,
      'rotate',
    );
    expect(started.json).toMatchObject({ roomId, epoch: 2, state: 'distributing', total: 2 });
    // bob acks, carol cannot: "1 of 2" on alice's event stream
    const oneOfTwo = await sse.waitFor(
      (e) => e.event === 'rotation' && e.data.epoch === 2 && e.data.acked === 1,
      20_000,
      'rotation 1 of 2 acked',
    );
    expect(oneOfTwo.data).toMatchObject({ roomId, state: 'distributing', acked: 1, total: 2 });
    const before = (await a.call('GET', `/api/rooms/${roomId}/members`)).json as Member[];
    expect(Object.fromEntries(before.map((m) => [m.name, m.epoch]))).toEqual({
      alice: 2,
      bob: 2,
      carol: 1,
    });

    // the host goes down mid-rotation and comes back from its data dir and log, on its port
    sse.close();
    expect(await ad.p.stop('SIGTERM')).toBe(0);
    const a2 = await restart(ad, 'alice', hostArgs);
    a = a2.client;
    const rooms = (await a.call('GET', '/api/rooms')).json as Array<{ roomId: string }>;
    expect(rooms.map((r) => r.roomId)).toContain(roomId);
    const sse2 = await watch('alice again', a2.apiUrl, ad.auth);
    c = (await restart(cd, 'carol', memberArgs)).client;

    // the rotation resumes and completes: every member acked the room's epoch
    const settled = await poll(
      "every member on the room's epoch",
      async () => {
        const roomEpoch = (
          (await a.call('GET', '/api/rooms')).json as Array<{ roomId: string; epoch: number }>
        ).find((r) => r.roomId === roomId)?.epoch;
        const members = (await a.call('GET', `/api/rooms/${roomId}/members`)).json as Member[];
        return { roomEpoch, members: members.map((m) => [m.name, m.epoch]) };
      },
      (v) => v.roomEpoch === 2 && v.members.every(([, e]) => e === 2),
    );
    expect(settled.members).toHaveLength(3);
    // "2 of 2" once carol acked, on the restarted host's event stream
    const twoOfTwo = await sse2.waitFor(
      (e) => e.event === 'rotation' && e.data.epoch === 2 && e.data.state === 'committed',
      20_000,
      'rotation committed',
    );
    expect(twoOfTwo.data).toMatchObject({ roomId, acked: 2, total: 2, laggards: [] });

    // the log shows the one stream reaching committed, recorded by both runs of the host
    const log = expectStatus(
      await a.call('GET', `/api/log?prefix=${encodeURIComponent('rotation:')}&limit=1000`),
      200,
      'log',
    ).json as {
      entries: Array<{
        stream: string;
        type: string;
        data: { peerIds?: string[] };
        meta: { to: unknown };
      }>;
    };
    const streams = [...new Set(log.entries.map((e) => e.stream))];
    expect(streams).toEqual([`rotation:${roomId}:2`]);
    const states = log.entries.map((e) => e.meta.to);
    expect(states).toContain('distributing');
    expect(states.at(-1)).toBe('committed');
    expect(states.indexOf('committed')).toBeGreaterThan(states.lastIndexOf('distributing'));
    expect(log.entries.filter((e) => e.type === 'xstate.init')).toHaveLength(2);
    // acks of one tick arrive as one `rotation.acks` event: two members acked, in one or two
    const acked = log.entries.flatMap((e) =>
      e.type === 'rotation.acks' ? (e.data.peerIds ?? []) : [],
    );
    expect(new Set(acked).size).toBe(2);

    // the members switch to the new epoch (by the commit push or their next fetch) …
    for (const m of [b, c])
      await poll(
        `${m.label} on epoch 2`,
        async () => {
          const list = (await m.call('GET', '/api/rooms')).json as Array<{
            roomId: string;
            epoch: number;
          }>;
          return list.find((r) => r.roomId === roomId)?.epoch;
        },
        (e) => e === 2,
      );
    // … and everyone reads what is sent under the new key
    const after: Array<[RoomClient, string]> = [
      [a, 'epoch 2 from alice'],
      [b, 'epoch 2 from bob'],
      [c, 'epoch 2 from carol'],
    ];
    for (const [who, text] of after) {
      const r = await poll(
        `${who.label} to send under epoch 2`,
        () => send(who, roomId, text, `after-${who.label}`), // same id: idempotent retries
        () => true,
        30_000,
      );
      expect(r.epoch).toBe(2);
    }
    const all = ['epoch 1 from alice', 'epoch 1 from carol', ...after.map(([, t]) => t)];
    for (const m of [a, b, c]) {
      const rows = await waitForMessages(m, roomId, (r) => r.length === all.length, {
        timeoutMs: 30_000,
        what: 'all five messages',
      });
      expect(textsOf(rows)).toEqual(all);
      expect(rows.slice(2).map((r) => r.epoch)).toEqual([2, 2, 2]);
    }
  }, 180_000);
});
