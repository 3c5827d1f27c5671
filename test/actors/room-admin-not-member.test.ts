/**
 * `conclave room rotate` / POST /api/rooms/:id/rotate on a room this peer no longer is in (it
 * left, or was kicked) says ERR_NOT_MEMBER, as a send does — not ERR_FORBIDDEN "only the owner or
 * an admin can do that".
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRotationNet,
  openRoomOfThree,
  type RotationNet,
  outcomeOf,
} from '../support/rotation-net.js';

let net: RotationNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

describe('rotate on a room this peer left', () => {
  it('says the peer is not in the room, like send does', async () => {
    net = createRotationNet({ deadlineMs: 500 });
    const { b, c, a, roomId } = await openRoomOfThree(net);
    await b.rooms.leave(roomId);
    await a.rooms.kick(roomId, c.id, false);
    const sendErr = await outcomeOf(b.rooms.send(roomId, 'x'));
    const rotateLeft = await outcomeOf(b.rooms.rotate(roomId));
    const rotateKicked = await outcomeOf(c.rooms.rotate(roomId));
    expect(sendErr).toMatch(/^ERR_NOT_MEMBER/);
    expect(rotateLeft).toMatch(/^ERR_NOT_MEMBER/);
    expect(rotateKicked).toMatch(/^ERR_NOT_MEMBER/);
  });
});
