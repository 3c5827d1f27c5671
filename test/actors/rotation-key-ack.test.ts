/**
 * The epoch the host shows for a member (`room members`: how an admin spots laggards) comes from
 * its `room.key-ack`s. An ack is the member's word: it counts only for an epoch a rotation of the
 * room made. A crafted ack used to set any epoch, for good (a member's epoch only increases).
 */
import { afterEach, expect, it } from 'vitest';
import { createRotationNet, until, type RotationNet } from '../support/rotation-net.js';

let net: RotationNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

it('a crafted key-ack for an epoch no rotation made changes nothing; a real late ack still counts', async () => {
  net = createRotationNet({ deadlineMs: 200 });
  const a = await net.add('alice');
  const b = await net.add('bob');
  const { roomId } = await a.rooms.create({ name: 'den', policy: 'open' });
  await b.rooms.join(roomId, {});
  b.setOnline(false);
  expect((await a.rooms.rotate(roomId)).laggards).toEqual([b.id]); // bob never got key 2
  b.setOnline(true);
  const bobEpoch = () => a.rooms.members(roomId).find((m) => m.peerId === b.id)?.epoch;

  for (const epoch of [1e12, 3, 2])
    a.rooms.handlePush(b.id, { type: 'room.key-ack', roomId, epoch });
  await tick();
  expect(bobEpoch()).toBe(2); // the one epoch a rotation made
  // bob's return fetches key 2 and acks it for real: still 2
  await until(() => b.rooms.list()[0]?.epoch === 2, 'bob at 2');
  a.rooms.handlePush(b.id, { type: 'room.key-ack', roomId, epoch: 1e12 });
  await tick();
  await tick();
  expect(bobEpoch()).toBe(2);
});

it('a crafted key-ack alone leaves the host’s view of a laggard as it was', async () => {
  net = createRotationNet({ deadlineMs: 200 });
  const a = await net.add('alice');
  const b = await net.add('bob');
  const { roomId } = await a.rooms.create({ name: 'den', policy: 'open' });
  await b.rooms.join(roomId, {});
  b.setOnline(false);
  expect((await a.rooms.rotate(roomId)).laggards).toEqual([b.id]);
  // bob stays offline: nothing real from him reaches the host, only the crafted ack
  a.rooms.handlePush(b.id, { type: 'room.key-ack', roomId, epoch: 1e12 });
  a.rooms.handlePush(b.id, { type: 'room.key-ack', roomId, epoch: 3 });
  await tick();
  await tick();
  const bob = a.rooms.members(roomId).find((m) => m.peerId === b.id);
  expect(bob?.epoch).toBeLessThanOrEqual(2);
});
