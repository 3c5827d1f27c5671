/**
 * Batched sender signatures end to end (in-process rooms runtimes): messages a member sends in
 * one tick share one signature over their Merkle root; the host sequences each on its own proof,
 * members read them all, and a proof lifted from one message or member to another is refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRoomsNet, type RoomsNet } from '../support/rooms-inproc.js';
import { until } from '../support/rotation-net.js';
import type { Envelope } from '../../src/protocol/room.codec.js';

let net: RoomsNet | undefined;
afterEach(() => {
  net?.close();
  net = undefined;
});

async function trio() {
  net = createRoomsNet();
  const a = await net.add('alice');
  const b = await net.add('bob');
  const c = await net.add('carol');
  const room = await a.rooms.create({ name: 'den' });
  for (const m of [b, c]) await m.rooms.join(room.roomId, {});
  return { a, b, c, roomId: room.roomId };
}

/** The envelopes a peer's room actor has seen, from its local feed. */
const sentBy = (roomId: string, sender: string, env: Envelope[]) =>
  env.filter((e) => e.roomId === roomId && e.sender === sender);

describe('batched message signatures', () => {
  it('sends of one tick share one signature; every member reads every message', async () => {
    const { a, b, c, roomId } = await trio();
    const texts = Array.from({ length: 40 }, (_, i) => `burst ${i}`);
    const results = await Promise.all(texts.map((t) => b.rooms.send(roomId, t)));
    expect(new Set(results.map((r) => r.seq)).size).toBe(40);
    for (const p of [a, b, c]) {
      await until(() => p.rooms.list()[0]?.seq === 40, `${p.name} has all 40`);
      const got = p.rooms.messages(roomId, 0, 100);
      expect(got.map((m) => m.text)).toEqual(texts);
      expect(got.every((m) => m.error === undefined)).toBe(true);
    }
    // What the host fetched out: batches of at most 32 under one signature each.
    const r = await c.request(a, '/rooms/fetch', { roomId, after: 0, limit: 100 });
    const envs = sentBy(
      roomId,
      b.id,
      (r.body as { msgs: Array<{ env: Envelope }> }).msgs.map((m) => m.env),
    );
    expect(envs).toHaveLength(40);
    const bySig = new Map<string, Envelope[]>();
    for (const e of envs) bySig.set(e.sig, [...(bySig.get(e.sig) ?? []), e]);
    expect(bySig.size).toBeLessThan(40);
    for (const group of bySig.values()) {
      if (group.length === 1 && group[0]?.batch === undefined) continue;
      const n = group[0]?.batch?.n;
      expect(n).toBeGreaterThanOrEqual(2);
      expect(n).toBeLessThanOrEqual(32);
      expect(group.map((e) => e.batch?.i).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(
        Array.from({ length: group.length }, (_, i) => i),
      );
    }
  });

  it('a proof lifted to another message, or a message moved to another sender, is refused', async () => {
    const { a, b, c, roomId } = await trio();
    await Promise.all(['one', 'two', 'three'].map((t) => b.rooms.send(roomId, t)));
    const r = await c.request(a, '/rooms/fetch', { roomId, after: 0, limit: 10 });
    const [e1, e2] = (r.body as { msgs: Array<{ env: Envelope }> }).msgs.map((m) => m.env);
    expect(e1?.batch).toBeDefined();
    // bob's second message with the first one's place in the batch
    const lifted = { ...(e2 as Envelope), id: 'lifted-00001', batch: e1?.batch };
    expect(await b.request(a, '/rooms/send', lifted)).toMatchObject({
      body: { code: 'ERR_BAD_SIGNATURE' },
    });
    // carol re-sends bob's batched message as her own
    const asCarol = { ...(e1 as Envelope), id: 'as-carol-0001', sender: c.id };
    expect(await c.request(a, '/rooms/send', asCarol)).toMatchObject({
      body: { code: 'ERR_BAD_SIGNATURE' },
    });
    // a batch size the signature does not cover
    const resized = { ...(e1 as Envelope), id: 'resized-0001', batch: { ...e1!.batch!, n: 4 } };
    expect(await b.request(a, '/rooms/send', resized)).toMatchObject({
      body: { code: 'ERR_BAD_SIGNATURE' },
    });
    expect(a.rooms.list()[0]?.seq).toBe(3);
  });
});
