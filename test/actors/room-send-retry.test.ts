/**
 * A member's retry of a message the host already sequenced, with room frames on: the host holds
 * the message but its fan-out (the usual acknowledgement) missed everyone, so the retry with the
 * same id must be acknowledged with the same seq — not time out again — nothing is sequenced
 * twice, and the members whose link is up get the message without waiting for a later one.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRoomsNet, type InprocPeer, type RoomsNet } from '../support/rooms-inproc.js';

let net: RoomsNet;
afterEach(() => {
  vi.useRealTimers();
  net?.close();
});

/** Real timers, taken before any test fakes `setTimeout`. */
const realSetTimeout = globalThis.setTimeout;
const sleep = (ms: number): Promise<void> => new Promise((r) => realSetTimeout(r, ms));

/** Wait (in real time) until `pred` holds or `ms` passed; whether it held. */
async function within(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) return false;
    await sleep(5);
  }
  return true;
}

/** How a send ends: its result, or its error code. */
function outcome<T>(p: Promise<T>): { value?: T; code?: string; settled: boolean } {
  const o: { value?: T; code?: string; settled: boolean } = { settled: false };
  p.then(
    (value) => Object.assign(o, { value, settled: true }),
    (e: unknown) => Object.assign(o, { code: (e as { code?: string }).code, settled: true }),
  );
  return o;
}

async function trio(): Promise<{ a: InprocPeer; b: InprocPeer; c: InprocPeer; roomId: string }> {
  net = createRoomsNet();
  const a = await net.add('alice', { framesFrom: 16 });
  const b = await net.add('bob', { framesFrom: 16 });
  const c = await net.add('carol', { framesFrom: 16 });
  const room = await a.rooms.create({ name: 'retry', policy: 'invite' });
  for (const m of [b, c])
    await m.rooms.join(room.roomId, { invite: (await a.rooms.invite(room.roomId)).code });
  return { a, b, c, roomId: room.roomId };
}

describe('room send retry, room frames on', () => {
  it('a retry of a message whose fan-out missed the sender is acked with the same seq, once, and reaches the members', async () => {
    const { a, b, c, roomId } = await trio();
    // Only the ack timers are faked: deliveries (setImmediate) run for real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });

    // The host's links are down while it fans the message out: nobody gets it back.
    a.linkUp = false;
    const first = outcome(b.rooms.send(roomId, 'hello', 'bob-retry-0001'));
    expect(await within(() => a.rooms.messages(roomId, 0, 10).length === 1, 2_000)).toBe(true);
    await sleep(50); // the fan-out flushes (to no one)
    await vi.advanceTimersByTimeAsync(15_000);
    expect(first).toMatchObject({ settled: true, code: 'ERR_TIMEOUT' });
    expect(b.rooms.messages(roomId, 0, 10)).toEqual([]);

    // Links up again: the retry (same id) is a repeat for the host, answered with its seq.
    a.linkUp = true;
    const retry = outcome(b.rooms.send(roomId, 'hello', 'bob-retry-0001'));
    await within(() => retry.settled, 2_000);
    await vi.advanceTimersByTimeAsync(15_000); // unanswered, it would time out here
    expect(retry).toMatchObject({ settled: true, value: { id: 'bob-retry-0001', seq: 1 } });
    const held = a.rooms.messages(roomId, 0, 10);
    expect(held.map((m) => [m.seq, m.id, m.text])).toEqual([[1, 'bob-retry-0001', 'hello']]);
    expect(retry.value?.sentAt).toBe(held[0]?.sentAt);
    expect(a.rooms.stats().sequenced).toBe(1);

    // The members whose link is up get it too (the sender included), with no later message.
    for (const m of [b, c])
      expect(await within(() => m.rooms.messages(roomId, 0, 10).length === 1, 2_000), m.name).toBe(
        true,
      );
    for (const m of [b, c])
      expect(m.rooms.messages(roomId, 0, 10).map((x) => [x.seq, x.text])).toEqual([[1, 'hello']]);
  });

  it('a message sequenced for the first time is still acknowledged by its fan-out alone', async () => {
    const { a, b, c, roomId } = await trio();
    const r = await b.rooms.send(roomId, 'plain', 'bob-plain-0001');
    expect(r.seq).toBe(1);
    for (const m of [b, c])
      expect(await within(() => m.rooms.messages(roomId, 0, 10).length === 1, 2_000)).toBe(true);
    // one delivery per member other than the host: no second copy for a first send
    expect(a.rooms.stats()).toMatchObject({ sequenced: 1, fanout: 2 });
  });
});
