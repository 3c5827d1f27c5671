/**
 * A message of a later epoch that reaches a member before its key waits for the key (§6): after a
 * removal the host seals under the new epoch at once, while the key goes out only after its
 * keystore write — the member's live feed (what `conclave room chat/watch` prints) must show the
 * message once, readable, not ERR_MISSING_KEY for good. The host's keystore here is slow to store
 * epoch keys (a busy disk), so the message always wins the race.
 */
import { afterEach, expect, it } from 'vitest';
import { createMemoryKeystore } from '../../src/keystore/memory-keystore.js';
import type { Keystore } from '../../src/keystore/keystore.js';
import {
  createRotationNet,
  until,
  type RotationNet,
  openRoomOfThree,
} from '../support/rotation-net.js';

let net: RotationNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

/** A memory keystore that takes 300 ms to store a room's epoch key (`room.<id>.e.<n>`). */
function slowEpochKeys(): Keystore {
  const inner = createMemoryKeystore();
  return {
    get isVolatile() {
      return inner.isVolatile;
    },
    loadOrCreateIdentity: (kind) => inner.loadOrCreateIdentity(kind),
    async putSecret(id, secret) {
      const copy = Buffer.from(secret);
      if (/\.e\.\d+$/.test(id)) await new Promise((r) => setTimeout(r, 300));
      await inner.putSecret(id, copy);
    },
    getSecret: (id) => inner.getSecret(id),
    deleteSecret: (id) => inner.deleteSecret(id),
    listSecrets: (prefix) => inner.listSecrets(prefix),
    close: () => inner.close(),
  };
}

it('a message under the new epoch that arrives before its key is shown once, readable, on the live feed', async () => {
  net = createRotationNet({ deadlineMs: 2_000 });
  const { a, b, c, roomId } = await openRoomOfThree(net, { keystore: slowEpochKeys() });
  await a.rooms.kick(roomId, c.id, false);
  const sent = await a.rooms.send(roomId, 'right after the kick');
  expect(sent.epoch).toBe(2);
  await until(
    () => b.rooms.messages(roomId, 0, 10)[0]?.text === 'right after the kick',
    'bob can read it (key arrived)',
  );
  await new Promise((r) => setTimeout(r, 200));
  const live = b.feed.filter((e) => e.type === 'message').map((e) => e.data);
  expect(live.filter((m) => m['error'] !== undefined)).toEqual([]);
  expect(live.filter((m) => m['text'] === 'right after the kick')).toHaveLength(1);
});
