/**
 * A member reads what follows its admission (§5.4): `/rooms/fetch` from `after: 0` gets no message
 * and no epoch key from before it joined — a later joiner does not open the history a rotation
 * closed, and a member kicked and let back in does not open what was said while it was out.
 */
import { afterEach, expect, it } from 'vitest';
import { unwrapEpochKey } from '../../src/crypto/room-epoch-key.js';
import {
  createRotationNet,
  dumpSecrets,
  loggedEnvelopes,
  openWithAny,
  type RotationNet,
  openRoomOfThree,
} from '../support/rotation-net.js';

let net: RotationNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

it('a member that joined in epoch 2 gets no epoch-1 key and reads no message from before it joined', async () => {
  net = createRotationNet({ deadlineMs: 2_000 });
  const a = await net.add('alice');
  const b = await net.add('bob');
  const { roomId } = await a.rooms.create({ name: 'den', policy: 'open' });
  await b.rooms.join(roomId, {});
  await a.rooms.send(roomId, 'alice: before carol, epoch 1');
  await b.rooms.send(roomId, 'bob: before carol, epoch 1');
  expect((await a.rooms.rotate(roomId)).state).toBe('committed'); // epoch 2: carol never holds 1

  const c = await net.add('carol');
  await c.rooms.join(roomId, {});
  const before = await dumpSecrets(c);

  // carol's own session asks the host for the room from the start
  const r = await a.rooms.handleRequest(c.id, {
    method: 'POST',
    path: '/rooms/fetch',
    body: { roomId, after: 0, limit: 500 },
  } as never);
  const body = r?.body as {
    keys: Array<{ epoch: number; wrapped: string }>;
    msgs: Array<{ seq: number; env: never }>;
  };
  const kek = before.get(`room.${roomId}.kek`) as Buffer;
  const opened = body.keys.map((k) =>
    unwrapEpochKey(kek, roomId, k.epoch, c.id, Buffer.from(k.wrapped, 'base64url')),
  );
  const preJoin = (await loggedEnvelopes(a, roomId)).filter((m) => m.env.epoch === 1);
  const read = preJoin.map((m) => openWithAny(opened, m.env));
  expect(body.keys.map((k) => k.epoch)).not.toContain(1);
  expect(read.filter((t) => t !== null)).toEqual([]);
});

it('a kicked member let back in gets no key of the epoch it was kept out of', async () => {
  net = createRotationNet({ deadlineMs: 2_000 });
  const { a, b, c, roomId } = await openRoomOfThree(net);
  await a.rooms.kick(roomId, c.id, false); // epoch 2, without carol
  await new Promise((r) => setTimeout(r, 50));
  await b.rooms.send(roomId, 'bob: while carol is out (epoch 2)');
  expect((await a.rooms.rotate(roomId)).epoch).toBe(3);
  await c.rooms.join(roomId, {}); // open room: she may come back, at epoch 3
  const secrets = await dumpSecrets(c);
  const r = await a.rooms.handleRequest(c.id, {
    method: 'POST',
    path: '/rooms/fetch',
    body: { roomId, after: 0, limit: 500 },
  } as never);
  const body = r?.body as { keys: Array<{ epoch: number; wrapped: string }> };
  const kek = secrets.get(`room.${roomId}.kek`) as Buffer;
  const opened = body.keys.map((k) =>
    unwrapEpochKey(kek, roomId, k.epoch, c.id, Buffer.from(k.wrapped, 'base64url')),
  );
  const whileOut = (await loggedEnvelopes(a, roomId)).filter((m) => m.env.epoch === 2);
  const read = whileOut.map((m) => openWithAny(opened, m.env));
  expect(read.filter((t) => t !== null)).toEqual([]);
});
