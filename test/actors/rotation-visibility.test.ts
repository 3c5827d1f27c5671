/**
 * Smaller visibility checks around rotations on the host: a member who joins during a rotation is
 * shown at the epoch it holds once the rotation commits; a rotation with nobody to wait for is
 * published committed once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRotationNet,
  rotationEvents,
  until,
  type RotationNet,
} from '../support/rotation-net.js';

let net: RotationNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

describe('rotation events', () => {
  it('a rotation of a room with no other member is reported committed once', async () => {
    net = createRotationNet({ deadlineMs: 2_000 });
    const a = await net.add('alice');
    const { roomId } = await a.rooms.create({ name: 'solo', policy: 'open' });
    expect((await a.rooms.rotate(roomId)).state).toBe('committed');
    await new Promise((r) => setTimeout(r, 50));
    const states = rotationEvents(a)
      .filter((e) => e['roomId'] === roomId && e['epoch'] === 2)
      .map((e) => e['state']);
    expect(states).toEqual(['committed']);
  });
});

describe('room members: a joiner during a rotation', () => {
  it('is shown at the epoch it holds and uses once the rotation commits', async () => {
    net = createRotationNet({ deadlineMs: 600, retryMs: 10_000 });
    const a = await net.add('alice');
    const b = await net.add('bob');
    const { roomId } = await a.rooms.create({ name: 'den', policy: 'open' });
    await b.rooms.join(roomId, {});
    b.setOnline(false); // the rotation waits for bob until its deadline
    const done = a.rooms.rotate(roomId);
    await until(
      () => a.rooms.list().find((r) => r.roomId === roomId)?.rotating?.state === 'distributing',
      'distributing',
    );
    const c = await net.add('carol');
    await c.rooms.join(roomId, {}); // the grant carries key 1 and the running rotation's key 2
    await done;
    await until(() => c.rooms.list().find((r) => r.roomId === roomId)?.epoch === 2, 'carol at 2');
    const sent = await c.rooms.send(roomId, 'hi from carol');
    expect(sent.epoch).toBe(2);
    const shown = Object.fromEntries(a.rooms.members(roomId).map((m) => [m.name, m.epoch]));
    // bob (laggard) is at 1; carol holds key 2 and sends under it
    expect(shown).toEqual({ alice: 2, bob: 1, carol: 2 });
  });
});
