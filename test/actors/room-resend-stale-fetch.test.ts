/**
 * A member's send refused for its epoch (a removal advanced the room) is re-sent under the new
 * key after a catch-up (protocol §6) — also when the catch-up it joins was asked before the
 * removal (a poll, a gap) and still names the old epoch (the send used to fail ERR_CONFLICT).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { InnerPush, InnerRequest } from '../../src/protocol/sealed.codec.js';
import { createRotationNet, openRoomOfThree, type RotationNet } from '../support/rotation-net.js';

let net: RotationNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

describe('a send refused for its epoch', () => {
  it.each([
    ['while a catch-up asked before the removal is in flight', true],
    ['with no catch-up in flight (control)', false],
  ])('is re-sent under the new epoch %s', async (_what, isFetchInFlight) => {
    net = createRotationNet({ deadlineMs: 5_000, retryMs: 10_000 });
    const { a, b, c, roomId } = await openRoomOfThree(net);
    // Bob's pushes of the new key and commit are slow (no link: they wait in his poll queue).
    const bobPush = b.rooms.handlePush.bind(b.rooms);
    (b.rooms as { handlePush: typeof b.rooms.handlePush }).handlePush = (
      from: string,
      inner: InnerPush,
    ) => {
      if (inner.type === 'room.key' || inner.type === 'room.commit') return;
      bobPush(from, inner);
    };
    // The answer to Bob's fetch takes 150 ms to come back (network latency).
    const hostReq = a.rooms.handleRequest.bind(a.rooms);
    (a.rooms as { handleRequest: typeof a.rooms.handleRequest }).handleRequest = (
      from: string,
      inner: InnerRequest,
    ) => {
      const r = hostReq(from, inner);
      if (!r || from !== b.id || inner.path !== '/rooms/fetch') return r;
      return r.then((x) => new Promise((res) => setTimeout(() => res(x), 150)));
    };
    // Bob's regular catch-up: asked now, answered (epoch 1) in 150 ms.
    if (isFetchInFlight) b.rooms.onSession(a.id);
    await new Promise((r) => setTimeout(r, 20));
    await a.rooms.kick(roomId, c.id, false); // epoch 2, the old one closed at once
    const sent = await b.rooms.send(roomId, 'hello after the kick');
    expect(sent.epoch).toBe(2);
  });
});
