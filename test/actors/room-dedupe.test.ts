/**
 * The id table of a room (sender → id → seq) and the rotation's per-tick ack batches.
 *
 * Dedupe: a retry is answered with its first seq, one sender's id never answers another's, an
 * expired id leaves no empty per-sender map, the queue stays aligned with `byId` across the
 * splice that compacts it, and an id remembered twice (a member whose host had forgotten it) keeps
 * its newer window when the older entry expires.
 *
 * Rotations: acks for two epochs of one room in one tick each reach their rotation; a member whose
 * KEK was dropped and re-created (leave, join again) is wrapped for under its new KEK.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  addMessage,
  DEDUPE_MS,
  newHandle,
  seqOfId,
  type RoomHandle,
  type StoredMessage,
} from '../../src/actors/rooms/room-handle.js';
import { createRoomKeys } from '../../src/actors/rooms/room-keys.js';
import { unwrapEpochKey } from '../../src/crypto/room-epoch-key.js';
import { createMemoryKeystore } from '../../src/keystore/memory-keystore.js';
import {
  createRotationNet,
  hasCommitted,
  until,
  type RotationNet,
} from '../support/rotation-net.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function handle(): RoomHandle {
  return newHandle({} as never, 'room-under-review');
}

function msg(seq: number, sender: string, id: string, sentAtMs: number): StoredMessage {
  return {
    seq,
    env: { sender, id, sentAt: new Date(sentAtMs).toISOString() } as StoredMessage['env'],
  };
}

/** Every live queue entry maps to a byId entry and back; no sender map is empty. */
function expectAligned(h: RoomHandle): void {
  const d = h.dedupe;
  expect(d.senders.length).toBe(d.ids.length);
  expect(d.until.length).toBe(d.ids.length);
  expect(d.seqs.length).toBe(d.ids.length);
  const live = new Set<string>();
  for (let i = d.head; i < d.ids.length; i++) live.add(`${d.senders[i]}/${d.ids[i]}`);
  const held = new Set<string>();
  for (const [sender, ids] of h.byId) {
    expect(ids.size).toBeGreaterThan(0);
    for (const id of ids.keys()) held.add(`${sender}/${id}`);
  }
  expect([...held].sort()).toEqual([...live].sort());
}

describe('dedupe as sender → id → seq', () => {
  it('answers a retry with the first seq, and never across senders', () => {
    const h = handle();
    addMessage(h, msg(1, A, 'id-000001', T0), T0);
    addMessage(h, msg(2, B, 'id-000002', T0), T0);
    expect(seqOfId(h, A, 'id-000001')).toBe(1);
    expect(seqOfId(h, B, 'id-000002')).toBe(2);
    expect(seqOfId(h, B, 'id-000001')).toBeUndefined();
    expect(seqOfId(h, A, 'id-000002')).toBeUndefined();
    expect(seqOfId(h, C, 'id-000001')).toBeUndefined();
    // The same id from another sender is its own message.
    addMessage(h, msg(3, B, 'id-000001', T0 + 1), T0 + 1);
    expect(seqOfId(h, A, 'id-000001')).toBe(1);
    expect(seqOfId(h, B, 'id-000001')).toBe(3);
    expectAligned(h);
  });

  it('forgets an id after its window and drops the emptied sender map', () => {
    const h = handle();
    addMessage(h, msg(1, A, 'id-000001', T0), T0);
    addMessage(h, msg(2, B, 'id-000002', T0 + 5_000), T0 + 5_000);
    // Past A's window (DEDUPE_MS + 10 s margin), not B's.
    const later = T0 + DEDUPE_MS + 10_000;
    addMessage(h, msg(3, C, 'id-000003', later), later);
    expect(seqOfId(h, A, 'id-000001')).toBeUndefined();
    expect(h.byId.has(A)).toBe(false);
    expect(seqOfId(h, B, 'id-000002')).toBe(2);
    expectAligned(h);
  });

  it('keeps senders, ids and until aligned across the compacting splice', () => {
    const h = handle();
    const senders = [A, B, C];
    let seq = 0;
    // 50 ms apart over ~2.3 windows: entries expire steadily, and the queue is spliced once the
    // expired head is past 1024 entries and half the queue.
    for (let i = 0; i < 6_000; i++) {
      const t = T0 + i * 50;
      const sender = senders[i % 3] as string;
      addMessage(h, msg(++seq, sender, `id-${String(i).padStart(6, '0')}`, t), t);
      if (i % 997 === 0) expectAligned(h);
    }
    expect(h.dedupe.ids.length).toBeLessThan(6_000); // it was compacted
    expectAligned(h);
    const now = T0 + 5_999 * 50;
    // Every id still inside its window answers with its own seq, for its own sender only.
    for (let i = 5_999; i >= 0 && T0 + i * 50 + DEDUPE_MS + 10_000 > now; i--) {
      const sender = senders[i % 3] as string;
      const other = senders[(i + 1) % 3] as string;
      const id = `id-${String(i).padStart(6, '0')}`;
      expect(seqOfId(h, sender, id)).toBe(i + 1);
      expect(seqOfId(h, other, id)).toBeUndefined();
    }
  });

  // Pre-existing (the `sender|id` string version behaved the same): reachable only where a
  // handle is given a remembered id again — a member whose clock lags the host's, after the
  // host forgot the id and sequenced a re-stamped send of it. Not reachable on the host.
  it('keeps a re-added id for its newer window', () => {
    const h = handle();
    addMessage(h, msg(1, A, 'id-000001', T0), T0);
    addMessage(h, msg(2, A, 'id-000001', T0 + 60_000), T0 + 60_000);
    expect(seqOfId(h, A, 'id-000001')).toBe(2);
    const firstGone = T0 + DEDUPE_MS + 10_000;
    addMessage(h, msg(3, B, 'id-000003', firstGone), firstGone);
    // The newer entry lives until T0 + 60 s + DEDUPE_MS + 10 s; the first one's expiry removed it.
    expect(seqOfId(h, A, 'id-000001')).toBe(2);
  });
});

describe('KEK keystore ids cached per member', () => {
  it('wraps under the new KEK after the member left and joined again', async () => {
    const keys = createRoomKeys(createMemoryKeystore());
    const roomId = 'room-under-review';
    await keys.newEpoch(roomId, 2);
    const kek1 = Buffer.from(await keys.hostKek(roomId, A));
    const w2 = keys.cachedWrapper(roomId, 2)(A) as string;
    expect(unwrapEpochKey(kek1, roomId, 2, A, Buffer.from(w2, 'base64url')).length).toBe(32);

    await keys.dropKek(roomId, A); // left
    expect(keys.cachedWrapper(roomId, 2)(A)).toBeUndefined();
    const kek2 = Buffer.from(await keys.hostKek(roomId, A)); // joined again: a fresh KEK
    expect(kek2.equals(kek1)).toBe(false);
    await keys.newEpoch(roomId, 3);
    const w3 = keys.cachedWrapper(roomId, 3)(A) as string;
    expect(unwrapEpochKey(kek2, roomId, 3, A, Buffer.from(w3, 'base64url')).length).toBe(32);
    expect(() => unwrapEpochKey(kek1, roomId, 3, A, Buffer.from(w3, 'base64url'))).toThrow();
    keys.close();
  });
});

describe('rotation acks batched by room and epoch', () => {
  let net: RotationNet | undefined;
  afterEach(async () => {
    await net?.close();
    net = undefined;
  });

  it('acks for two epochs of one room in one tick each reach their own rotation', async () => {
    net = createRotationNet({ deadlineMs: 60_000, retryMs: 60_000 });
    const a = await net.add('alice');
    const b = await net.add('bob');
    const c = await net.add('carol');
    const { roomId } = await a.rooms.create({ name: 'den', policy: 'open' });
    await b.rooms.join(roomId, {});
    await c.rooms.join(roomId, {});
    const epochOf = () => a.rooms.list().find((r) => r.roomId === roomId)?.epoch as number;
    // One rotation with everyone online: the room then has a committed rotation to ack late.
    const first = epochOf() + 1;
    void a.rooms.rotate(roomId).catch(() => undefined);
    await until(() => hasCommitted(a, roomId, first), `rotation ${first} committed`);
    const epoch0 = epochOf();
    expect(epoch0).toBe(first);

    // Members offline: their own acks never arrive, only the ones sent by hand below.
    b.setOnline(false);
    c.setOnline(false);
    void a.rooms.rotate(roomId).catch(() => undefined);
    const rotating = () => a.rooms.list().find((r) => r.roomId === roomId)?.rotating;
    await until(() => rotating()?.state === 'distributing', 'a rotation distributing');
    const next = rotating()?.epoch as number;
    expect(next).toBe(epoch0 + 1);

    // One tick: an ack for the current (older) epoch, then both acks for the running one.
    a.rooms.handlePush(b.id, { type: 'room.key-ack', roomId, epoch: epoch0 });
    a.rooms.handlePush(c.id, { type: 'room.key-ack', roomId, epoch: next });
    a.rooms.handlePush(b.id, { type: 'room.key-ack', roomId, epoch: next });

    await until(
      () => hasCommitted(a, roomId, next),
      `rotation ${next} committed by its acks`,
      3_000,
    );
    const committed = a.feed
      .filter((e) => e.type === 'rotation')
      .map((e) => e.data as { epoch: number; state: string; acked: number; laggards: string[] })
      .find((d) => d.epoch === next && d.state === 'committed');
    expect(committed?.acked).toBe(2);
    expect(committed?.laggards).toEqual([]);
  });
});
