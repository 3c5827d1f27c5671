/**
 * Host-signed room frames: a big batch is encoded and signed once and the same bytes go to every
 * member. Members take a frame only from their room's host, only with a valid host signature over
 * the exact bytes; anything else is dropped without a trace in the room.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sign, SignatureDomains } from '../../src/crypto/signature.js';
import { encodeRoomFrame, roomBatchBody, type Sequenced } from '../../src/protocol/room.codec.js';
import { createRoomsNet, type InprocPeer, type RoomsNet } from '../support/rooms-inproc.js';

let net: RoomsNet;
afterEach(() => net?.close());

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

async function room(
  framesFrom: number,
): Promise<{ a: InprocPeer; b: InprocPeer; c: InprocPeer; roomId: string }> {
  net = createRoomsNet();
  const a = await net.add('alice', { framesFrom });
  const b = await net.add('bob');
  const c = await net.add('carol');
  const r = await a.rooms.create({ name: 'framed' });
  await b.rooms.join(r.roomId, {});
  await c.rooms.join(r.roomId, {});
  return { a, b, c, roomId: r.roomId };
}

const frameOf = (signer: InprocPeer, roomId: string, msgs: Sequenced[]): Buffer => {
  const body = roomBatchBody({ roomId, msgs });
  return encodeRoomFrame(
    body,
    sign(signer.identity.privateKey, SignatureDomains.roomBatch, [body]),
  );
};

describe('room frames', () => {
  it('fans out as signed frames and every member reads every message in order', async () => {
    const { a, b, c, roomId } = await room(1);
    for (const [who, text] of [
      [a, 'one'],
      [b, 'two'],
      [c, 'three'],
      [a, 'four'],
    ] as const)
      await who.rooms.send(roomId, text);
    for (const m of [b, c]) {
      await until(() => m.rooms.messages(roomId, 0, 10).length === 4, `${m.name}: 4 messages`);
      expect(m.rooms.messages(roomId, 0, 10).map((x) => [x.seq, x.text])).toEqual([
        [1, 'one'],
        [2, 'two'],
        [3, 'three'],
        [4, 'four'],
      ]);
    }
  });

  it('drops frames that are not the host’s: signed by a member, tampered, or for another room', async () => {
    const { a, b, c, roomId } = await room(1);
    await a.rooms.send(roomId, 'real');
    await until(() => b.rooms.messages(roomId, 0, 10).length === 1, 'the real message');
    const [first] = a.rooms.messages(roomId, 0, 1);
    const env = (
      await a.rooms.handleRequest(b.id, {
        method: 'POST',
        path: '/rooms/fetch',
        body: { roomId, after: 0, limit: 1 },
      })
    )?.body as { msgs: Sequenced[] };
    const replayed: Sequenced[] = [{ seq: 2, env: env.msgs[0]!.env }];
    expect(first?.text).toBe('real');

    // a member signs a frame that replays the first envelope at seq 2, and sends it as the host
    b.rooms.handleFrame(a.id, frameOf(c, roomId, replayed));
    // the host's own signature, but the bytes changed after signing
    const good = frameOf(a, roomId, replayed);
    const tampered = Buffer.from(good);
    const at = tampered.length - 3;
    tampered.writeUInt8(tampered.readUInt8(at) ^ 1, at);
    b.rooms.handleFrame(a.id, tampered);
    // a valid host frame that claims to come from another peer
    b.rooms.handleFrame(c.id, good);
    // garbage
    b.rooms.handleFrame(a.id, Buffer.from([0x52, 0, 64, 1, 2, 3]));
    await new Promise((r) => setTimeout(r, 50));
    expect(b.rooms.messages(roomId, 0, 10).map((m) => m.seq)).toEqual([1]);
  });
});
