/**
 * A host restarted around a rotation, on what its log and keystore kept:
 *  - the log writer appends each stream on its own, so a crash can keep `rotation:<room>:2`'s
 *    commit and lose the room's `epoch.advance 2`: the host used to stay at epoch 1 and make a
 *    second, different key 2 at the next rotation, which members (holding the first) never take;
 *  - a rotation's key whose keystore write failed (the rotation goes on with it in memory) is
 *    gone after a restart: restore used to throw ERR_MISSING_KEY resuming it, and the host never
 *    started again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Keystore } from '../../src/keystore/keystore.js';
import { createMemoryKeystore } from '../../src/keystore/memory-keystore.js';
import {
  createRotationNet,
  dumpSecrets,
  hasCommitted,
  loggedEnvelopes,
  openWithAny,
  readTexts,
  until,
  type NetPeer,
  type RotationNet,
  openRoomOfThree,
  restartFromLog,
} from '../support/rotation-net.js';

let net: RotationNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

const epochOf = (p: NetPeer, roomId: string): number | null | undefined =>
  p.rooms.list().find((r) => r.roomId === roomId)?.epoch;

type Logged = { stream: string; type: string; data: unknown };

/** Stop `a` and start it again on a copy of its log (minus what `drop` picks), same keystore. */
const restart = (a: NetPeer, drop: (e: Logged) => boolean = () => false): Promise<NetPeer> =>
  restartFromLog(net as RotationNet, a, (e, stream) =>
    drop({ stream, type: e.type, data: e.data }) ? undefined : e,
  );

/** The room's `epoch.advance` events in `p`'s log, as [epoch, reason]. */
async function advances(p: NetPeer, roomId: string): Promise<Array<[number, string]>> {
  await p.runtime.writer.flush();
  return (await p.store.readAll({ streamPrefix: `room:${roomId}` }))
    .filter((e) => e.stream === `room:${roomId}` && e.type === 'epoch.advance')
    .map((e) => {
      const d = e.data as { epoch: number; reason: string };
      return [d.epoch, d.reason];
    });
}

/**
 * A keystore whose epoch-key writes fail (`'fail'`: a full disk) or never finish (`'hang'`: the
 * crash comes first) while `mode` is set.
 */
function flakyKeystore(): { keystore: Keystore; mode: { v: 'ok' | 'fail' | 'hang' } } {
  const mem = createMemoryKeystore();
  const mode = { v: 'ok' as 'ok' | 'fail' | 'hang' };
  const keystore: Keystore = Object.assign(Object.create(mem) as Keystore, {
    isVolatile: false,
    putSecret: (id: string, v: Uint8Array) => {
      if (mode.v === 'ok' || !/\.e\.\d+$/.test(id)) return mem.putSecret(id, v);
      return mode.v === 'fail'
        ? Promise.reject(new Error('ENOSPC: no space left on device'))
        : new Promise<void>(() => undefined);
    },
  });
  return { keystore, mode };
}

describe('a crash between a rotation’s commit and the room’s epoch.advance', () => {
  it('restores the host at the committed epoch; the next rotation is the one after, never a second key for it', async () => {
    net = createRotationNet({ deadlineMs: 2_000 });
    const a = await net.add('alice');
    const b = await net.add('bob');
    const { roomId } = await a.rooms.create({ name: 'den', policy: 'open' });
    await b.rooms.join(roomId, {});
    expect((await a.rooms.rotate(roomId)).state).toBe('committed');
    await until(() => epochOf(b, roomId) === 2, 'bob at epoch 2');

    const a2 = await restart(a, (e) => e.stream === `room:${roomId}` && e.type === 'epoch.advance');
    expect(epochOf(a2, roomId)).toBe(2);
    expect(await advances(a2, roomId)).toEqual([[2, 'manual']]);
    // the host sends in epoch 2 again, under the key bob holds
    await a2.rooms.send(roomId, 'alice after restart');
    await until(() => readTexts(b, roomId).length === 1, 'bob to read it');
    expect(readTexts(b, roomId)).toEqual(['alice after restart']);

    const v = await a2.rooms.rotate(roomId);
    expect(v).toMatchObject({ epoch: 3, state: 'committed' });
    await until(() => epochOf(b, roomId) === 3, 'bob at epoch 3');
    await a2.rooms.send(roomId, 'alice in epoch 3');
    await until(() => readTexts(b, roomId).length === 2, 'bob to read epoch 3');
    expect(readTexts(b, roomId)).toEqual(['alice after restart', 'alice in epoch 3']);
  });

  it('advances a removal’s room with mandatory set: the old epoch stays closed', async () => {
    net = createRotationNet({ deadlineMs: 2_000 });
    const { a, c, roomId } = await openRoomOfThree(net);
    await a.rooms.kick(roomId, c.id, false);
    await until(() => hasCommitted(a, roomId, 2), 'the kick’s rotation to commit');

    const a2 = await restart(a, (e) => e.stream === `room:${roomId}` && e.type === 'epoch.advance');
    expect(epochOf(a2, roomId)).toBe(2);
    await a2.runtime.writer.flush();
    const advance = (await a2.store.readAll({ streamPrefix: `room:${roomId}` })).find(
      (e) => e.stream === `room:${roomId}` && e.type === 'epoch.advance',
    );
    expect(advance?.data).toMatchObject({ epoch: 2, reason: 'kick', mandatory: true });
  });
});

describe('a restarted host whose rotation’s key was never stored', () => {
  it.each(['fail', 'hang'] as const)(
    'starts (key write: %s), passes over that epoch and rotates again; every member reads it',
    async (how) => {
      net = createRotationNet({ deadlineMs: 60_000 });
      const { keystore, mode } = flakyKeystore();
      const { a, b, c, roomId } = await openRoomOfThree(net, { keystore });
      c.setOnline(false); // the rotation waits for carol (until a deadline far away)
      mode.v = how;
      void a.rooms.rotate(roomId).catch(() => undefined);
      if (how === 'fail')
        await until(() => b.pushesIn.some((x) => x.inner.type === 'room.key'), 'bob to get key 2');
      else await new Promise((r) => setTimeout(r, 20)); // proposed: the write never finishes
      mode.v = 'ok'; // the disk has room again

      const a2 = await restart(a);
      // the rotation of epoch 2 is not resumed; a new one takes epoch 3, the room still in 1
      await until(
        () => a2.rooms.list()[0]?.rotating?.epoch === 3,
        'rotation 3 to run',
        5_000,
        () => a2.rooms.list(),
      );
      expect(epochOf(a2, roomId)).toBe(1);
      // the lost one ends in its stream: cancelled, key-lost
      await a2.runtime.writer.flush();
      const lostStream = (await a2.store.readAll({ streamPrefix: `rotation:${roomId}:2` })).map(
        (e) => [e.type, (e.data as { reason?: string }).reason],
      );
      expect(lostStream.at(-1)).toEqual(['rotation.cancel', 'key-lost']);
      c.setOnline(true);
      await until(() => hasCommitted(a2, roomId, 3), 'rotation 3 to commit');
      expect(epochOf(a2, roomId)).toBe(3);
      // the room steps through epoch 2 at the commit, saying why
      expect(await advances(a2, roomId)).toEqual([
        [2, 'skipped:key-lost'],
        [3, 'manual'],
      ]);
      await until(() => epochOf(b, roomId) === 3 && epochOf(c, roomId) === 3, 'members at 3');
      await a2.rooms.send(roomId, 'alice in epoch 3');
      for (const p of [b, c])
        await until(() => readTexts(p, roomId).includes('alice in epoch 3'), `${p.name} reads`);
    },
  );

  it('rotates again at once after a removal whose key was lost: the removed member reads nothing after', async () => {
    net = createRotationNet({ deadlineMs: 60_000 });
    const { keystore, mode } = flakyKeystore();
    const a = await net.add('alice', { keystore });
    const b = await net.add('bob');
    const c = await net.add('carol');
    const d = await net.add('dave');
    const { roomId } = await a.rooms.create({ name: 'den', policy: 'open' });
    for (const p of [b, c, d]) await p.rooms.join(roomId, {});
    d.setOnline(false);
    mode.v = 'fail';
    await a.rooms.kick(roomId, c.id, false);
    await until(() => b.pushesIn.some((x) => x.inner.type === 'room.key'), 'bob to get key 2');
    mode.v = 'ok';

    const a2 = await restart(a);
    // the removal's rotation again, mandatory: the host is at once in an epoch whose key it holds
    expect(epochOf(a2, roomId)).toBe(3);
    expect(a2.rooms.list()[0]?.rotating).toMatchObject({ epoch: 3, reason: 'kick' });
    expect(await advances(a2, roomId)).toEqual([
      [2, 'kick'],
      [3, 'kick'],
    ]);
    await a2.rooms.send(roomId, 'alice after the restart');
    await until(() => readTexts(b, roomId).includes('alice after the restart'), 'bob reads');
    const secrets = await dumpSecrets(c);
    const post = (await loggedEnvelopes(a2, roomId)).filter((m) => m.env.epoch >= 2);
    expect(post.length).toBeGreaterThan(0);
    expect(post.map((m) => openWithAny(secrets.values(), m.env)).filter((t) => t)).toEqual([]);
  });

  it('leaves an epoch whose key it lost after the commit at once, and sends again', async () => {
    net = createRotationNet({ deadlineMs: 60_000 });
    const { keystore, mode } = flakyKeystore();
    const a = await net.add('alice', { keystore });
    const b = await net.add('bob');
    const { roomId } = await a.rooms.create({ name: 'den', policy: 'open' });
    await b.rooms.join(roomId, {});
    mode.v = 'fail';
    expect((await a.rooms.rotate(roomId)).state).toBe('committed');
    mode.v = 'ok';

    const a2 = await restart(a);
    expect(epochOf(a2, roomId)).toBe(3);
    expect(await advances(a2, roomId)).toEqual([
      [2, 'manual'],
      [3, 'key-lost'],
    ]);
    await a2.rooms.send(roomId, 'alice after the restart');
    await until(() => readTexts(b, roomId).includes('alice after the restart'), 'bob reads');
  });
});
