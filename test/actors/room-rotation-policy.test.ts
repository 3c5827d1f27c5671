/**
 * A room's own rotation policy: the host renews the key after N messages in an epoch (and the
 * members switch to it), with no one asking.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRoomsNet, type RoomsNet } from '../support/rooms-inproc.js';

let net: RoomsNet;
afterEach(() => net?.close());

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('rotation policy', () => {
  it('renews the key every N messages, and members send under the new one', async () => {
    net = createRoomsNet();
    const a = await net.add('alice');
    const b = await net.add('bob');
    const room = await a.rooms.create({ name: 'chatty', rotation: { everyMessages: 3 } });
    await b.rooms.join(room.roomId, {});
    const epochOf = (p: typeof a): number | null =>
      p.rooms.list().find((r) => r.roomId === room.roomId)?.epoch ?? null;
    for (const text of ['1', '2', '3']) await b.rooms.send(room.roomId, text);
    await until(() => epochOf(a) === 2 && epochOf(b) === 2, 'epoch 2 on both');
    const sent = await b.rooms.send(room.roomId, '4');
    expect(sent.epoch).toBe(2);
    for (const text of ['5', '6']) await a.rooms.send(room.roomId, text);
    await until(() => epochOf(a) === 3, 'epoch 3 after three more');
    await until(() => b.rooms.messages(room.roomId, 0, 10).length === 6, 'six messages at bob');
    expect(b.rooms.messages(room.roomId, 0, 10).map((m) => m.text)).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
    ]);
  });
});
