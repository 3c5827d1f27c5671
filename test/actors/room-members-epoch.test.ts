/**
 * `room members` on the host shows each member's epoch from its key-acks, never from before its
 * admission. A laggard (offline during a rotation, committed at the deadline) is shown at its old
 * epoch, also after the host restarts (it used to be shown at the room's current epoch then).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRotationNet,
  openRoomOfThree,
  until,
  type NetPeer,
  type RotationNet,
  restartFromLog,
} from '../support/rotation-net.js';

let net: RotationNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

const restart = (a: NetPeer): Promise<NetPeer> => restartFromLog(net as RotationNet, a);

const epochs = (p: NetPeer, roomId: string): Record<string, number> =>
  Object.fromEntries(p.rooms.members(roomId).map((m) => [m.name, m.epoch]));

describe('room members after a host restart', () => {
  it('keeps showing a laggard at the epoch it holds', async () => {
    net = createRotationNet({ deadlineMs: 300, retryMs: 50 });
    const { a, c, roomId } = await openRoomOfThree(net);
    c.setOnline(false);
    const v = await a.rooms.rotate(roomId);
    expect(v).toMatchObject({ epoch: 2, state: 'committed', laggards: [c.id] });
    const before = epochs(a, roomId);
    expect(before).toEqual({ alice: 2, bob: 2, carol: 1 });

    const a2 = await restart(a);
    // carol is still offline and never took key 2
    expect(epochs(a2, roomId)).toEqual(before);
  });

  it('a member who joined after the last rotation and lagged the next one', async () => {
    net = createRotationNet({ deadlineMs: 300, retryMs: 50 });
    const { a, b, roomId } = await openRoomOfThree(net);
    await a.rooms.rotate(roomId); // epoch 2, everyone acks
    const d = await net.add('dave');
    await d.rooms.join(roomId, {}); // joins at epoch 2
    await until(() => d.rooms.list().find((r) => r.roomId === roomId)?.epoch === 2, 'dave at 2');
    d.setOnline(false);
    await a.rooms.rotate(roomId); // epoch 3, dave laggard
    expect(epochs(a, roomId)).toMatchObject({ bob: 3, dave: 2 });
    void b;
    const a2 = await restart(a);
    expect(epochs(a2, roomId)).toMatchObject({ bob: 3, dave: 2 });
  });
});
