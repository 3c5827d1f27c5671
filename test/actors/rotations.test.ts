/**
 * Room key rotation at runtime, in one process: a host and members (`createRooms` each, with a
 * real peer runtime recording to a memory log, memory keystores) wired by a fake session layer
 * (`test/support/rotation-net.ts`). Issue #5's "must show": a removed member decrypts nothing sent
 * after its removal, an offline member catches up on every key it missed, concurrent rotation
 * requests make one rotation, messages keep flowing through rotations, a kick during a rotation
 * queues one more, and keys older than the window are shredded everywhere.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRotationNet,
  dumpSecrets,
  hasCommitted,
  loggedEnvelopes,
  openWithAny,
  readTexts,
  rotationEvents,
  storedEpochs,
  until,
  type NetPeer,
  type RotationNet,
} from '../support/rotation-net.js';

let net: RotationNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

/** A host and members of one open room, everyone online. */
async function room(names: string[], rotation: { deadlineMs?: number; retryMs?: number } = {}) {
  net = createRotationNet(rotation);
  const peers: NetPeer[] = [];
  for (const n of names) peers.push(await net.add(n));
  const [host, ...members] = peers as [NetPeer, ...NetPeer[]];
  const { roomId } = await host.rooms.create({ name: 'den', policy: 'open' });
  for (const m of members) await m.rooms.join(roomId, {});
  return { host, members, roomId };
}

const epochOf = (p: NetPeer, roomId: string): number | null =>
  p.rooms.list().find((r) => r.roomId === roomId)?.epoch ?? null;

/** Rotation streams in a peer's log: stream → how many actors were started on it. */
async function rotationStreams(p: NetPeer, roomId: string): Promise<Map<number, number>> {
  await p.runtime.writer.flush();
  const out = new Map<number, number>();
  for (const e of await p.store.readAll({ streamPrefix: `rotation:${roomId}:` })) {
    const epoch = Number(e.stream.slice(`rotation:${roomId}:`.length));
    out.set(epoch, (out.get(epoch) ?? 0) + (e.type === 'xstate.init' ? 1 : 0));
  }
  return out;
}

/** Epochs the room stream advanced to, in order (host log). */
async function advancedEpochs(p: NetPeer, roomId: string): Promise<number[]> {
  await p.runtime.writer.flush();
  return (await p.store.readAll({ streamPrefix: `room:${roomId}` }))
    .filter((e) => e.stream === `room:${roomId}` && e.type === 'epoch.advance')
    .map((e) => (e.data as { epoch: number }).epoch);
}

const keyPushes = (p: NetPeer, epoch: number) =>
  p.pushesIn.filter(
    (x) => x.inner.type === 'room.key' && (x.inner as { epoch?: number }).epoch === epoch,
  );

describe('a removed member', () => {
  it.each(['kick', 'ban', 'leave'] as const)(
    'removed by %s, with a full dump of its state, decrypts 0 of 100 messages sent after its removal',
    async (how) => {
      const { host: a, members, roomId } = await room(['alice', 'bob', 'carol', 'dave']);
      const [b, c, d] = members as [NetPeer, NetPeer, NetPeer];
      for (const p of [a, b, c, d]) await p.rooms.send(roomId, `before ${p.name}`);
      await until(() => readTexts(c, roomId).length === 4, 'carol to read the 4 early messages');
      const removedAtSeq = a.rooms.messages(roomId, 0, 1000).length;

      if (how === 'leave') await c.rooms.leave(roomId);
      else await a.rooms.kick(roomId, c.id, how === 'ban');
      const after: string[] = [];
      for (let i = 0; i < 100; i++) {
        const sender = [a, b, d][i % 3] as NetPeer;
        const text = `after ${i} by ${sender.name}`;
        await sender.rooms.send(roomId, text);
        after.push(text);
      }
      await until(() => readTexts(d, roomId).length === 104, 'dave to read all 104 messages');
      await until(() => hasCommitted(a, roomId, 2), 'the removal rotation to commit');

      // carol's whole state: every secret in her keystore, her messages, her log
      const secrets = await dumpSecrets(c);
      expect([...secrets.keys()].some((id) => id.endsWith('.e.1'))).toBe(true);
      const hostLog = await loggedEnvelopes(a, roomId);
      const post = hostLog.filter((m) => m.seq > removedAtSeq);
      const pre = hostLog.filter((m) => m.seq <= removedAtSeq);
      expect(post).toHaveLength(100);
      // the attack works on what she was entitled to (control) …
      expect(pre.map((m) => openWithAny(secrets.values(), m.env))).toEqual(
        [a, b, c, d].map((p) => `before ${p.name}`),
      );
      // … and opens none of what came after, under any key she holds
      const opened = post.map((m) => openWithAny(secrets.values(), m.env)).filter((t) => t);
      expect(opened).toEqual([]);
      expect(new Set(post.map((m) => m.env.epoch))).toEqual(new Set([2]));
      // a member still in the room reads them all (control)
      const bobSecrets = await dumpSecrets(b);
      expect(post.map((m) => openWithAny(bobSecrets.values(), m.env))).toEqual(after);
      expect(readTexts(b, roomId).slice(4)).toEqual(after);
      // nothing post-removal reached carol, as a key or as a message
      expect(keyPushes(c, 2)).toEqual([]);
      expect(await storedEpochs(c, roomId)).toEqual([1]);
      const hers = await loggedEnvelopes(c, roomId);
      expect(hers.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
      expect(hers.map((m) => openWithAny(secrets.values(), m.env))).toEqual(
        [a, b, c, d].map((p) => `before ${p.name}`),
      );
    },
  );
});

describe('a member offline across two rotations', () => {
  it('gets both keys on return and reads every message since it joined, none from before', async () => {
    const { host: a, members, roomId } = await room(['alice', 'bob'], { deadlineMs: 200 });
    const [b] = members as [NetPeer];
    const before = ['before 1 alice', 'before 2 bob'];
    await a.rooms.send(roomId, before[0] as string);
    await b.rooms.send(roomId, before[1] as string);
    expect((await a.rooms.rotate(roomId)).state).toBe('committed'); // epoch 2: carol never holds 1
    before.push('before 3 alice');
    await a.rooms.send(roomId, 'before 3 alice');

    const c = await (net as RotationNet).add('carol');
    await c.rooms.join(roomId, {});
    expect(epochOf(c, roomId)).toBe(2);
    const since: string[] = [];
    const say = async (p: NetPeer, text: string): Promise<void> => {
      await p.rooms.send(roomId, text);
      since.push(text);
    };
    await say(c, 'carol is here');
    await say(b, 'hi carol');

    c.setOnline(false);
    for (const n of [3, 4]) {
      await say(a, `alice before epoch ${n}`);
      const r = await a.rooms.rotate(roomId);
      expect(r).toMatchObject({ epoch: n, state: 'committed' });
      expect(r.laggards).toContain(c.id);
      await say(b, `bob in epoch ${n}`);
      await say(a, `alice in epoch ${n}`);
    }
    expect(await storedEpochs(c, roomId)).toEqual([2]);
    expect(a.rooms.members(roomId).find((m) => m.peerId === c.id)?.epoch).toBe(2);

    c.setOnline(true);
    await until(
      () => readTexts(c, roomId).length === since.length,
      'carol to catch up',
      15_000,
      () => readTexts(c, roomId),
    );
    expect(readTexts(c, roomId)).toEqual(since);
    for (const t of before) expect(readTexts(c, roomId)).not.toContain(t);
    expect(await storedEpochs(c, roomId)).toEqual([2, 3, 4]);
    expect(epochOf(c, roomId)).toBe(4);
    // her late acks reach the host: she shows the room's epoch
    await until(
      () => a.rooms.members(roomId).every((m) => m.epoch === 4),
      'every member at epoch 4 on the host',
      10_000,
      () => a.rooms.members(roomId),
    );
    // and she can speak again, under the new key
    const back = await c.rooms.send(roomId, 'carol is back');
    expect(back.epoch).toBe(4);
    await until(() => readTexts(b, roomId).includes('carol is back'), 'bob to read carol');
  });
});

describe('concurrent rotations and traffic', () => {
  it('10 rotate requests at once make exactly one rotation, and all 10 see it', async () => {
    const { host: a, roomId } = await room(['alice', 'bob', 'carol'], { deadlineMs: 5_000 });
    const settled = await Promise.race([
      Promise.all(Array.from({ length: 10 }, () => a.rooms.rotate(roomId))),
      new Promise<null>((r) => setTimeout(() => r(null), 4_000)),
    ]);
    expect(Object.fromEntries(await rotationStreams(a, roomId))).toEqual({ 2: 1 });
    expect(settled?.map((v) => v.epoch)).toEqual(Array(10).fill(2));
  });

  it('rotations back to back while four peers send: one stream per epoch, epochs +1, every message sequenced and readable by all', async () => {
    const {
      host: a,
      members,
      roomId,
    } = await room(['alice', 'bob', 'carol', 'dave'], {
      deadlineMs: 10_000,
    });
    const everyone = [a, ...members];
    let sending = true;
    const sent: string[] = [];
    const senders = everyone.map(async (p) => {
      for (let i = 0; sending || i < 10; i++) {
        const text = `${p.name} ${i}`;
        await p.rooms.send(roomId, text);
        sent.push(text);
        await new Promise((r) => setImmediate(r));
      }
    });
    const epochs: number[] = [];
    for (let i = 0; i < 6; i++) {
      const mark = sent.length;
      await until(() => sent.length >= mark + 4, 'traffic between rotations');
      const v = await a.rooms.rotate(roomId);
      expect(v.state).toBe('committed');
      epochs.push(v.epoch);
    }
    sending = false;
    await Promise.all(senders);
    expect(epochs).toEqual([2, 3, 4, 5, 6, 7]);
    expect(Object.fromEntries(await rotationStreams(a, roomId))).toEqual({
      2: 1,
      3: 1,
      4: 1,
      5: 1,
      6: 1,
      7: 1,
    });
    expect(await advancedEpochs(a, roomId)).toEqual([2, 3, 4, 5, 6, 7]);
    const committed = rotationEvents(a)
      .filter((d) => d['state'] === 'committed')
      .map((d) => d['epoch']);
    expect([...new Set(committed)]).toEqual([2, 3, 4, 5, 6, 7]);

    const hostView = a.rooms.messages(roomId, 0, 100_000);
    expect(hostView.map((m) => m.seq)).toEqual(hostView.map((_, i) => i + 1));
    expect(hostView).toHaveLength(sent.length);
    expect(new Set(hostView.map((m) => m.epoch)).size).toBeGreaterThan(2);
    for (const p of everyone) {
      // each message as the peer read it when it arrived (its `message` events) …
      const arrived = () => p.feed.filter((e) => e.type === 'message').map((e) => e.data);
      await until(
        () => arrived().length === sent.length,
        `${p.name} to receive all ${sent.length}`,
        15_000,
        () => arrived().length,
      );
      expect(arrived().map((m) => m['seq'])).toEqual(hostView.map((m) => m.seq));
      expect(arrived().filter((m) => m['text'] === null)).toEqual([]);
      expect(new Set(arrived().map((m) => m['text']))).toEqual(new Set(sent));
      // … and as it reads them now: every epoch still in the window opens (older keys: shredded)
      const rows = p.rooms.messages(roomId, 0, 100_000);
      expect(rows.map((m) => m.id)).toEqual(hostView.map((m) => m.id));
      expect(rows.filter((m) => m.epoch >= 5 && m.text === null)).toEqual([]);
    }
  });
});

describe('a kick during a running rotation', () => {
  /** alice hosts bob, carol, dave; dave offline so epoch 2's rotation waits for its deadline. */
  async function kickMidRotation() {
    const setup = await room(['alice', 'bob', 'carol', 'dave'], { deadlineMs: 1_500 });
    const { host: a, roomId } = setup;
    const [b, c, d] = setup.members as [NetPeer, NetPeer, NetPeer];
    d.setOnline(false);
    const first = a.rooms.rotate(roomId);
    await until(async () => (await storedEpochs(c, roomId)).includes(2), 'carol to get key 2');
    await a.rooms.kick(roomId, c.id, false);
    return { a, b, c, d, roomId, first };
  }

  it('queues exactly one more rotation, and the kicked member never gets its key', async () => {
    const { a, b, c, d, roomId, first } = await kickMidRotation();
    expect(await first).toMatchObject({ epoch: 2, state: 'committed', laggards: [d.id] });
    await until(() => hasCommitted(a, roomId, 3), 'the queued rotation to commit', 10_000);
    const rot3 = rotationEvents(a).find((x) => x['epoch'] === 3 && x['state'] === 'committed');
    expect(rot3).toMatchObject({ reason: 'kick', total: 2, laggards: [d.id] });
    expect(Object.fromEntries(await rotationStreams(a, roomId))).toEqual({ 2: 1, 3: 1 });
    expect(epochOf(a, roomId)).toBe(3);
    await until(() => epochOf(b, roomId) === 3, 'bob at epoch 3');

    await b.rooms.send(roomId, 'bob under epoch 3');
    expect(keyPushes(c, 3)).toEqual([]);
    expect(keyPushes(b, 3).length).toBeGreaterThan(0);
    expect(await storedEpochs(c, roomId)).toEqual([1, 2]);
    const secrets = await dumpSecrets(c);
    const e3 = (await loggedEnvelopes(a, roomId)).filter((m) => m.env.epoch === 3);
    expect(e3.map((m) => openWithAny(secrets.values(), m.env))).toEqual([null]);

    // dave returns: he gets both keys he missed and reads bob
    d.setOnline(true);
    await until(() => readTexts(d, roomId).includes('bob under epoch 3'), 'dave to read bob');
    expect(await storedEpochs(d, roomId)).toContain(3);
    expect(keyPushes(c, 3)).toEqual([]);
  });

  it('nothing sent after the kick opens under the kicked member’s keys', async () => {
    const { a, b, c, roomId, first } = await kickMidRotation();
    const cut = a.rooms.messages(roomId, 0, 1000).length;
    await b.rooms.send(roomId, 'bob right after the kick');
    await a.rooms.send(roomId, 'alice right after the kick');
    await first;
    await until(() => hasCommitted(a, roomId, 3), 'the queued rotation to commit', 10_000);
    const secrets = await dumpSecrets(c);
    const post = (await loggedEnvelopes(a, roomId)).filter((m) => m.seq > cut);
    expect(post).toHaveLength(2);
    expect(post.map((m) => openWithAny(secrets.values(), m.env))).toEqual([null, null]);
  });
});

describe('the past-epoch window', () => {
  it('keys older than keepEpochs are shredded on the host and on every member', async () => {
    const { host: a, members, roomId } = await room(['alice', 'bob', 'carol']);
    for (let n = 2; n <= 5; n++) {
      await a.rooms.send(roomId, `alice in epoch ${n - 1}`);
      expect(await a.rooms.rotate(roomId)).toMatchObject({ epoch: n, state: 'committed' });
    }
    for (const p of [a, ...members]) {
      await until(
        async () => (await storedEpochs(p, roomId)).join() === '3,4,5',
        `${p.name} to hold exactly epochs 3, 4, 5`,
        10_000,
      );
      expect(epochOf(p, roomId)).toBe(5);
    }
    // the rotations whose replaced key left the window are retired in the log
    await a.runtime.writer.flush();
    const retired = (await a.store.readAll({ streamPrefix: `rotation:${roomId}:` }))
      .filter((e) => e.type === 'rotation.retire')
      .map((e) => e.stream.slice(-1));
    expect(retired).toEqual(['2', '3']);
    // what was sealed under a shredded key no longer opens anywhere; the rest does
    for (const p of members) {
      const rows = p.rooms.messages(roomId, 0, 100);
      expect(rows.map((m) => [m.epoch, m.text ?? m.error?.code])).toEqual([
        [1, 'ERR_MISSING_KEY'],
        [2, 'ERR_MISSING_KEY'],
        [3, 'alice in epoch 3'],
        [4, 'alice in epoch 4'],
      ]);
    }
  });
});
