/**
 * Deleting a hosted room while its key rotation runs (in one process, real runtime and log, fake
 * sessions: `test/support/rotation-net.ts`). The rotation must end with the room: no key or
 * commit pushed after the delete, its stream ends in `rotation.cancel` (state `cancelled`), a
 * caller waiting on it is answered ERR_NOT_FOUND, no new rotation starts, late acks are ignored,
 * and the room's secrets leave the host's keystore; a restarted host resumes none of it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createPeerRuntime } from '../../src/actors/peer-runtime.js';
import { createRooms } from '../../src/actors/rooms/rooms.js';
import type { RoomSessions } from '../../src/actors/rooms/rooms-core.js';
import { AppError } from '../../src/errors.js';
import type { InnerPush } from '../../src/protocol/sealed.codec.js';
import { codeOf } from '../support/rooms-inproc.js';
import {
  copyLog,
  createRotationNet,
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

const DEADLINE_MS = 600;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * alice hosts bob and carol; carol is away, so the rotation to epoch 2 keeps retrying her until
 * its deadline. Once bob holds key 2, alice deletes the room (the owner leaving).
 */
async function deleteMidRotation() {
  net = createRotationNet({ deadlineMs: DEADLINE_MS, retryMs: 20 });
  const a = await net.add('alice');
  const b = await net.add('bob');
  const c = await net.add('carol');
  const { roomId } = await a.rooms.create({ name: 'doomed', policy: 'open' });
  await b.rooms.join(roomId, {});
  await c.rooms.join(roomId, {});
  c.setOnline(false);
  const rotating = a.rooms.rotate(roomId);
  const answer = codeOf(rotating);
  await until(async () => (await storedEpochs(b, roomId)).includes(2), 'bob to get key 2');
  expect(a.rooms.list().find((r) => r.roomId === roomId)?.rotating?.state).toBe('distributing');
  await a.rooms.leave(roomId);
  return { a, b, c, roomId, answer };
}

const pushesOf = (p: NetPeer, type: string, epoch: number) =>
  p.pushesIn.filter((x) => x.inner.type === type && (x.inner as { epoch?: number }).epoch === epoch)
    .length;

async function rotationLog(p: NetPeer, roomId: string, epoch: number) {
  await p.runtime.writer.flush();
  return p.store.readAll({ streamPrefix: `rotation:${roomId}:${epoch}` });
}

describe('deleting a room during its key rotation', () => {
  it('stops the rotation: no key or commit is pushed after the delete, past the deadline', async () => {
    const { b, c } = await deleteMidRotation();
    const keysToCarol = pushesOf(c, 'room.key', 2);
    const keysToBob = pushesOf(b, 'room.key', 2);
    await sleep(DEADLINE_MS * 2);
    expect(pushesOf(c, 'room.key', 2)).toBe(keysToCarol);
    expect(pushesOf(b, 'room.key', 2)).toBe(keysToBob);
    expect(pushesOf(b, 'room.commit', 2) + pushesOf(c, 'room.commit', 2)).toBe(0);
  });

  it('ends the rotation stream in rotation.cancel (cancelled), never committed', async () => {
    const { a, roomId } = await deleteMidRotation();
    await sleep(DEADLINE_MS * 2);
    const log = await rotationLog(a, roomId, 2);
    const last = log[log.length - 1];
    expect(last).toMatchObject({ type: 'rotation.cancel', data: { reason: 'room-deleted' } });
    expect(last?.meta).toMatchObject({ to: 'cancelled' });
    expect(log.map((e) => e.type)).not.toContain('rotation.deadline');
    const states = rotationEvents(a)
      .filter((d) => d['roomId'] === roomId)
      .map((d) => d['state']);
    expect(states).toContain('cancelled');
    expect(states).not.toContain('committed');
  });

  it('answers a rotate waiting on it ERR_NOT_FOUND, and starts no new rotation after', async () => {
    const { a, roomId, answer } = await deleteMidRotation();
    expect(await answer).toBe('ERR_NOT_FOUND');
    expect(await codeOf(a.rooms.rotate(roomId))).toBe('ERR_NOT_FOUND');
    expect(await rotationLog(a, roomId, 3)).toEqual([]);
  });

  it('ignores acks that arrive for the deleted room’s rotation, without errors', async () => {
    const { a, b, c, roomId } = await deleteMidRotation();
    const before = (await rotationLog(a, roomId, 2)).length;
    for (const p of [b, c])
      expect(() =>
        a.rooms.handlePush(p.id, { type: 'room.key-ack', roomId, epoch: 2 }),
      ).not.toThrow();
    await sleep(20);
    expect(await rotationLog(a, roomId, 2)).toHaveLength(before);
  });

  it('shreds the room’s epoch keys, KEKs and all on the host', async () => {
    const { a, roomId } = await deleteMidRotation();
    await sleep(50); // a key write still in flight at the delete is shredded when it lands
    expect(await a.keystore.listSecrets(`room.${roomId}.`)).toEqual([]);
  });

  it('keeps no KEK a join was still storing when the room was deleted, and grants nothing', async () => {
    net = createRotationNet({ deadlineMs: DEADLINE_MS, retryMs: 20 });
    const a = await net.add('alice');
    const b = await net.add('bob');
    const { roomId } = await a.rooms.create({ name: 'doomed', policy: 'open' });
    // alice's keystore holds reads of member KEKs until the gate opens: bob's join waits there.
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    let waiting = false;
    const getSecret = a.keystore.getSecret.bind(a.keystore);
    a.keystore.getSecret = async (id) => {
      if (id.includes('.k.')) {
        waiting = true;
        await gate;
      }
      return getSecret(id);
    };
    const joined = codeOf(b.rooms.join(roomId, {}));
    await until(() => waiting, 'bob’s join to wait for his KEK');
    await a.rooms.leave(roomId); // the owner leaving deletes the room
    open();
    expect(await joined).toBe('ERR_NOT_FOUND');
    await sleep(50);
    expect(await a.keystore.listSecrets(`room.${roomId}.`)).toEqual([]);
    expect(await storedEpochs(b, roomId)).toEqual([]);
  });
});

describe('a host restarted after deleting a room mid-rotation', () => {
  /**
   * Restart alice on a copy of her log (`drop`: event types left out, to make the log an older
   * build wrote) and her keystore: a fresh runtime and rooms, pushes recorded, nothing delivered.
   */
  async function restart(a: NetPeer, drop: readonly string[]) {
    const store = await copyLog(a, (e) => (drop.includes(e.type) ? undefined : e));
    const runtime = createPeerRuntime(
      {
        peerId: a.id,
        name: 'alice',
        fingerprint: a.id,
        identityKind: 'ed25519',
        store: 'memory',
        version: 'test',
      },
      { store },
    );
    runtime.start();
    const pushes: InnerPush[] = [];
    const sessions: RoomSessions = {
      request: () => Promise.reject(new AppError('ERR_PEER_UNREACHABLE', 'offline')),
      push: (_peerId, inner) => {
        pushes.push(inner);
        return Promise.resolve('none');
      },
      isLinkUp: () => false,
    };
    const rooms = createRooms({
      identity: a.identity,
      name: 'alice',
      keystore: a.keystore,
      store,
      spawnActor: runtime.spawnActor,
      hub: runtime.hub,
      sessions,
      selfUrls: () => [],
      directory: () => [],
      trustMode: 'tofu',
      pinState: () => 'unverified',
      rotation: { deadlineMs: DEADLINE_MS, retryMs: 20 },
    });
    await rooms.restore();
    return {
      pushes,
      rotationLog: async (roomId: string) => {
        await runtime.writer.flush();
        return store.readAll({ streamPrefix: `rotation:${roomId}:2` });
      },
      stop: async () => {
        rooms.close();
        await runtime.stop('test over');
      },
    };
  }

  it('resumes nothing, and ends a rotation an older build left running with the room', async () => {
    const { a, roomId } = await deleteMidRotation();
    // an older build neither cancelled the rotation nor shredded the room's keys
    await a.keystore.putSecret(`room.${roomId}.e.2`, Buffer.alloc(32, 7));
    for (const drop of [[], ['rotation.cancel']]) {
      const r = await restart(a, drop);
      try {
        await sleep(DEADLINE_MS * 2);
        expect(r.pushes).toEqual([]);
        const log = await r.rotationLog(roomId);
        expect(log[log.length - 1]).toMatchObject({
          type: 'rotation.cancel',
          meta: { to: 'cancelled' },
        });
        expect(await a.keystore.listSecrets(`room.${roomId}.`)).toEqual([]);
      } finally {
        await r.stop();
      }
    }
  });
});
