/**
 * A room that keeps no past epoch (`keepEpochs` 0) shreds the old key at every commit, host and
 * members alike: a message sealed under it that arrives after the commit must be refused (the
 * sender re-seals it under the new epoch), never accepted and acknowledged unreadable. With the
 * default window (2) the same message is accepted and reads fine.
 */
import { afterEach, expect, it } from 'vitest';
import { createMessageCipher, signMessage } from '../../src/crypto/room.js';
import {
  createRotationNet,
  dumpSecrets,
  until,
  type RotationNet,
} from '../support/rotation-net.js';

let net: RotationNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

it.each([2, 0])(
  'keepEpochs %i: a message sealed under epoch 1 reaching the host after the commit of 2 is readable or refused',
  async (keepEpochs) => {
    net = createRotationNet({ deadlineMs: 2_000 });
    const a = await net.add('alice');
    const b = await net.add('bob');
    const { roomId } = await a.rooms.create({
      name: 'den',
      policy: 'open',
      rotation: { keepEpochs },
    });
    await b.rooms.join(roomId, {});
    // bob seals and signs under epoch 1 (in flight) ...
    const key1 = (await dumpSecrets(b)).get(`room.${roomId}.e.1`) as Buffer;
    const header = {
      roomId,
      epoch: 1,
      sender: b.id,
      id: 'inflight-1',
      sentAt: new Date().toISOString(),
      suite: 'aes-256-gcm' as const,
    };
    const ct = createMessageCipher(key1, roomId, 1, b.id, 'aes-256-gcm').seal(
      header,
      Buffer.from(JSON.stringify({ text: 'in flight' })),
    );
    const env = {
      ...header,
      ct: ct.toString('base64url'),
      sig: signMessage(b.identity.privateKey, header, ct).toString('base64url'),
    };
    // ... the rotation commits meanwhile ...
    expect(await a.rooms.rotate(roomId)).toMatchObject({ epoch: 2, state: 'committed' });
    // ... and the message arrives.
    a.rooms.handlePush(b.id, { type: 'room.send', env });
    const ackOf = () => b.pushesIn.find((x) => x.inner.type === 'room.ack')?.inner;
    await until(() => ackOf() !== undefined, 'the host to answer');
    const ack = ackOf();
    if (keepEpochs === 0) {
      expect(ack).toMatchObject({ id: 'inflight-1', code: expect.any(String) });
      expect(ack).not.toHaveProperty('seq');
      expect(a.rooms.messages(roomId, 0, 10)).toEqual([]);
    } else {
      expect(ack).toMatchObject({ id: 'inflight-1', seq: 1 });
      await until(() => b.rooms.messages(roomId, 0, 10).length === 1, 'bob to get it back');
      expect(a.rooms.messages(roomId, 0, 10)[0]?.text).toBe('in flight');
      expect(b.rooms.messages(roomId, 0, 10)[0]?.text).toBe('in flight');
    }
  },
);
