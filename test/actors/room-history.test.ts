/**
 * A room's history window: a peer keeps the newest `historyLimit` messages per room in memory
 * (older ones are in the log only), a member whose cursor fell behind the host's window is told so
 * (`messages.skip` in its log, `history-skipped` on its feed) instead of asking forever, and ids
 * are remembered for DEDUPE_MS past a message's time however many messages came since — a retry
 * is never sequenced twice, and a send stamped further off the host's clock is refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRoomsNet,
  epochKeyOf,
  sealEnvelope,
  type InprocPeer,
  type RoomsNet,
} from '../support/rooms-inproc.js';
import { DEDUPE_MS } from '../../src/actors/rooms/room-handle.js';
import type { Envelope } from '../../src/protocol/room.codec.js';
import { replayStream } from '../../src/actors/replay.js';
import { createRotationNet, until, type RotationNet } from '../support/rotation-net.js';

let net: RoomsNet | undefined;
let rnet: RotationNet | undefined;
afterEach(async () => {
  net?.close();
  net = undefined;
  await rnet?.close();
  rnet = undefined;
});

/** A message sealed and signed as `p`'s client would, with any id and stamp (epoch 1). */
async function sealedBy(
  p: InprocPeer,
  roomId: string,
  id: string,
  sentAt: Date,
  text = 'hi',
): Promise<Envelope> {
  const key = await epochKeyOf(p, roomId, 1);
  const header = { roomId, epoch: 1, sender: p.id, id, sentAt: sentAt.toISOString() };
  return sealEnvelope(p.identity, key, { ...header, suite: 'aes-256-gcm' }, text);
}

describe('room history window', () => {
  it('keeps the newest messages per room in memory, on the host and on members; the log keeps all', async () => {
    rnet = createRotationNet();
    const a = await rnet.add('alice', { historyLimit: 20 });
    const b = await rnet.add('bob', { historyLimit: 20 });
    const room = await a.rooms.create({ name: 'den' });
    await b.rooms.join(room.roomId, {});
    for (let i = 1; i <= 100; i++) await a.rooms.send(room.roomId, `m${i}`);
    await until(() => b.rooms.list()[0]?.seq === 100, 'bob at seq 100');
    for (const p of [a, b]) {
      const held = p.rooms.messages(room.roomId, 0, 1_000);
      expect(held.length).toBeGreaterThanOrEqual(20);
      expect(held.length).toBeLessThanOrEqual(22); // the limit plus a 10 % slack
      expect(held.at(-1)?.text).toBe('m100');
      expect(held.map((m) => m.seq)).toEqual(held.map((_, i) => 101 - held.length + i));
      expect(p.rooms.stats().messages).toBe(held.length);
    }
    await a.runtime.writer.flush();
    const logged = await a.store.readStream(`room:${room.roomId}`);
    expect(logged.filter((e) => e.type === 'message.sequence')).toHaveLength(100);
  });

  it('a member that fell behind the host’s window skips to it, once, says so, and the log replays', async () => {
    rnet = createRotationNet();
    const a = await rnet.add('alice', { historyLimit: 10 });
    const b = await rnet.add('bob');
    const room = await a.rooms.create({ name: 'den' });
    await b.rooms.join(room.roomId, {});
    await a.rooms.send(room.roomId, 'before');
    await until(() => b.rooms.list()[0]?.seq === 1, 'bob has the first message');
    b.setOnline(false);
    for (let i = 1; i <= 50; i++) await a.rooms.send(room.roomId, `while away ${i}`);
    b.setOnline(true);
    await until(() => b.rooms.list()[0]?.seq === 51, 'bob caught up');
    const held = b.rooms.messages(room.roomId, 0, 100);
    expect(held[0]?.text).toBe('before');
    // bob got what the host still held: its newest 10 to 11 messages, up to 51.
    const after = held.slice(1);
    expect(after.at(-1)?.seq).toBe(51);
    expect(after.length).toBeGreaterThanOrEqual(10);
    expect(after.length).toBeLessThanOrEqual(11);
    expect(after.map((m) => m.seq)).toEqual(after.map((_, i) => 52 - after.length + i));
    const through = (after[0]?.seq ?? 0) - 1;
    await b.runtime.writer.flush();
    const stream = `room:${room.roomId}`;
    const events = await b.store.readStream(stream);
    const skips = events.filter((e) => e.type === 'messages.skip');
    expect(skips.map((e) => (e.data as { through: number }).through)).toEqual([through]);
    const r = replayStream(stream, events);
    expect(r.problem).toBeNull();
    expect(r.mismatches).toBe(0);
    const told = b.feed.filter(
      (e) => (e.data as { change?: string } | undefined)?.change === 'history-skipped',
    );
    expect(told).toHaveLength(1);
    expect(told[0]?.data).toMatchObject({ from: 2, through });
    // New messages flow as before.
    await a.rooms.send(room.roomId, 'after');
    await until(() => b.rooms.messages(room.roomId, 51, 10)[0]?.text === 'after', 'the next one');
  });

  it('a retry is answered with its seq after its message left the window, and never sequenced twice', async () => {
    let offsetMs = 0;
    net = createRoomsNet();
    const a = await net.add('alice', {
      historyLimit: 5,
      now: () => new Date(Date.now() + offsetMs),
    });
    const b = await net.add('bob');
    const room = await a.rooms.create({ name: 'den' });
    await b.rooms.join(room.roomId, {});
    const env = await sealedBy(b, room.roomId, 'retry-0001', new Date(), 'once');
    const first = await b.request(a, '/rooms/send', env);
    expect(first.status).toBe(200);
    const seq = (first.body as { seq: number }).seq;
    for (let i = 0; i < 30; i++) await a.rooms.send(room.roomId, `filler ${i}`);
    expect(a.rooms.messages(room.roomId, 0, 100).some((m) => m.seq === seq)).toBe(false);
    // Out of the window, still remembered: the same answer, no new message.
    const again = await b.request(a, '/rooms/send', env);
    expect(again).toMatchObject({ status: 200, body: { seq } });
    const before = a.rooms.list()[0]?.seq;
    // Past the dedupe window the id is forgotten, and the send is refused for its stale stamp.
    offsetMs = DEDUPE_MS + 15_000;
    await a.rooms.send(room.roomId, 'the host moves on'); // forgets expired ids as it goes
    const late = await b.request(a, '/rooms/send', env);
    expect(late).toMatchObject({ body: { code: 'ERR_CLOCK_SKEW' } });
    expect(a.rooms.list()[0]?.seq).toBe((before ?? 0) + 1);
    expect(a.rooms.messages(room.roomId, 0, 100).filter((m) => m.id === 'retry-0001')).toHaveLength(
      0,
    ); // long out of the window, and not back in it
  });

  it('a retry keeps its first stamp: past the dedupe window it is refused, never sequenced as new', async () => {
    let offsetMs = 0;
    const now = () => new Date(Date.now() + offsetMs);
    net = createRoomsNet();
    const a = await net.add('alice', { now });
    const b = await net.add('bob', { now });
    const room = await a.rooms.create({ name: 'den' });
    await b.rooms.join(room.roomId, {});
    // bob's first try never reaches the host…
    net.peers.delete(a.id);
    await expect(b.rooms.send(room.roomId, 'late', 'retried-0001')).rejects.toThrow();
    net.peers.set(a.id, a);
    // …and he tries again, same id, after the dedupe window: he cannot know whether the first
    // got through, so the host refuses it rather than risk a second copy.
    offsetMs = DEDUPE_MS + 10_000;
    await expect(b.rooms.send(room.roomId, 'late', 'retried-0001')).rejects.toMatchObject({
      code: 'ERR_CLOCK_SKEW',
    });
    // A new message is stamped now and goes through.
    const fresh = await b.rooms.send(room.roomId, 'new', 'fresh-00001');
    expect(fresh.seq).toBe(1);
    expect(a.rooms.list()[0]?.seq).toBe(1);
  });

  it('a fetch answer never sets its floor past a message it carries (sends sequenced meanwhile)', async () => {
    net = createRoomsNet();
    const a = await net.add('alice', { historyLimit: 10 });
    const b = await net.add('bob', { linkUp: false });
    const room = await a.rooms.create({ name: 'den' });
    await b.rooms.join(room.roomId, {});
    for (let i = 1; i <= 10; i++) await a.rooms.send(room.roomId, `m${i}`);
    const envs = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        sealedBy(b, room.roomId, `race-${String(i).padStart(4, '0')}`, new Date(), `r${i}`),
      ),
    );
    const req = (path: string, body: unknown) =>
      a.rooms.handleRequest(b.id, { method: 'POST', path, body }) as Promise<{
        status: number;
        body: { msgs: Array<{ seq: number }>; floor?: number; seq: number };
      }>;
    const fetched = req('/rooms/fetch', { roomId: room.roomId, after: 0, limit: 500 });
    const sends = envs.map((e) => req('/rooms/send', e)); // sequenced while the fetch wraps keys
    const r = await fetched;
    await Promise.all(sends);
    const first = r.body.msgs[0]?.seq ?? Number.POSITIVE_INFINITY;
    expect(r.body.floor ?? 0).toBeLessThan(first);
  });

  it('remembers an id a little longer than it accepts its stamp: no edge where a retry is new again', async () => {
    const T0 = Date.parse('2030-01-01T00:00:00.000Z');
    let t = T0;
    net = createRoomsNet();
    const a = await net.add('alice', { now: () => new Date(t) });
    const b = await net.add('bob', { now: () => new Date(t) });
    const room = await a.rooms.create({ name: 'den' });
    await b.rooms.join(room.roomId, {});
    const env = await sealedBy(b, room.roomId, 'edge-00001', new Date(T0), 'once');
    const first = await b.request(a, '/rooms/send', env);
    // Found while it is remembered (a little past the accepted window), refused after: the two
    // windows overlap, so there is no instant at which the retry would be taken as new.
    for (const at of [DEDUPE_MS - 1, DEDUPE_MS, DEDUPE_MS + 1, DEDUPE_MS + 10_001]) {
      t = T0 + at;
      await a.rooms.send(room.roomId, `tick ${at}`); // the host forgets what has expired
      const again = await b.request(a, '/rooms/send', env);
      if (at <= DEDUPE_MS + 1) expect(again.body, `at ${at}`).toEqual(first.body);
      else expect(again.body, `at ${at}`).toMatchObject({ code: 'ERR_CLOCK_SKEW' });
    }
  });

  it('refuses a send stamped too far from the host’s clock, either way, with a code that says what to do', async () => {
    net = createRoomsNet();
    const a = await net.add('alice');
    const b = await net.add('bob');
    const room = await a.rooms.create({ name: 'den' });
    await b.rooms.join(room.roomId, {});
    const at = (ms: number, id: string) => sealedBy(b, room.roomId, id, new Date(Date.now() + ms));
    for (const [ms, id] of [
      [-(DEDUPE_MS + 10_000), 'past-0001'],
      [DEDUPE_MS + 10_000, 'future-01'],
    ] as const) {
      const r = await b.request(a, '/rooms/send', await at(ms, id));
      expect(r).toMatchObject({ body: { code: 'ERR_CLOCK_SKEW' } });
      expect((r.body as { detail?: string }).detail).toMatch(/clock/);
    }
    const ok = await b.request(a, '/rooms/send', await at(-30_000, 'skewed-ok'));
    expect(ok.status).toBe(200);
  });
});
