/**
 * `conclave block` promises no room keys to that peer, whatever the trust mode: under the default
 * `--trust tofu` a blocked peer cannot join (nothing is recorded for it), and a member the owner
 * blocks gets no key by fetching, joining again, being approved, or in a rotation. The pin state is
 * injected; sessions are a fake that records the host's pushes (blocking a peer's live sessions is
 * not what is tested here).
 */
import { createActor } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventHub } from '../../src/actors/event-hub.js';
import type { SpawnActor } from '../../src/actors/handshake/types.js';
import { createRooms, type Rooms } from '../../src/actors/rooms/rooms.js';
import type { RoomSessions, RoomsDeps } from '../../src/actors/rooms/rooms-core.js';
import { generateIdentity, type Identity } from '../../src/crypto/index.js';
import { createMemoryKeystore } from '../../src/keystore/memory-keystore.js';
import type { InnerPush, InnerResponse } from '../../src/protocol/sealed.codec.js';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';

type Pin = ReturnType<RoomsDeps['pinState']>;
const spawnActor: SpawnActor = (machine, input) => createActor(machine, { input }).start() as never;
const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

let closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers) c();
  closers = [];
});

/** A tofu host (alice) whose pins are a map, and a peer (bob) that speaks to it raw. */
async function tofuHost() {
  const [alice, bob] = await Promise.all([
    generateIdentity('ed25519'),
    generateIdentity('ed25519'),
  ]);
  const pins = new Map<string, Pin>();
  const pushes: Array<{ to: string; inner: InnerPush }> = [];
  const sessions: RoomSessions = {
    request: () => Promise.reject(new Error('the host asks no one here')),
    push(to, inner) {
      pushes.push({ to, inner: wire(inner) });
      return Promise.resolve('link');
    },
    isLinkUp: () => true,
  };
  const hub = createEventHub({ capacity: 1_000 });
  const rooms: Rooms = createRooms({
    identity: alice,
    name: 'alice',
    keystore: createMemoryKeystore(),
    store: createMemoryEventStore(),
    spawnActor,
    hub,
    sessions,
    selfUrls: () => ['http://127.0.0.1:9'],
    directory: () => [],
    trustMode: 'tofu',
    pinState: (peerId) => pins.get(peerId) ?? 'none',
    rotation: { deadlineMs: 300, retryMs: 20 },
  });
  closers.push(() => {
    rooms.close();
    hub.close();
  });
  const ask = async (from: Identity, path: string, body: unknown): Promise<InnerResponse> =>
    wire(
      await (rooms.handleRequest(from.fingerprint, wire({ method: 'POST', path, body })) ??
        Promise.reject(new Error(`no route ${path}`))),
    );
  const joinBody = (roomId: string) => ({
    roomId,
    name: 'bob',
    kind: 'ed25519',
    publicKey: bob.publicKeyBytes.toString('base64url'),
  });
  const keysTo = (peerId: string) =>
    pushes.filter(
      (p) => p.to === peerId && (p.inner.type === 'room.key' || p.inner.type === 'room.admitted'),
    );
  return { alice, bob, pins, rooms, ask, joinBody, keysTo };
}

const blockedBody = { code: 'ERR_FORBIDDEN' };

describe('a blocked peer under --trust tofu', () => {
  it('cannot join: refused with ERR_FORBIDDEN, and not recorded as a member or a request', async () => {
    const t = await tofuHost();
    t.pins.set(t.bob.fingerprint, 'blocked');
    for (const policy of ['open', 'approval'] as const) {
      const room = await t.rooms.create({ name: policy, policy });
      const r = await t.ask(t.bob, '/rooms/join', t.joinBody(room.roomId));
      expect(r).toMatchObject({ status: 403, body: blockedBody });
      expect(JSON.stringify(r.body)).not.toContain('kek');
      expect(t.rooms.members(room.roomId).map((m) => m.peerId)).toEqual([t.alice.fingerprint]);
    }
    expect(t.keysTo(t.bob.fingerprint)).toEqual([]);
  });

  /** A tofu host with an open room bob joined while trusted on first use. */
  async function bobJoined() {
    const t = await tofuHost();
    t.pins.set(t.bob.fingerprint, 'unverified');
    const room = await t.rooms.create({ name: 'r', policy: 'open' });
    const joined = await t.ask(t.bob, '/rooms/join', t.joinBody(room.roomId));
    expect(joined).toMatchObject({ status: 200, body: { state: 'joined' } });
    return { ...t, room };
  }

  it('gets no key once blocked: not by fetching, nor by joining again', async () => {
    const { room, ...t } = await bobJoined();
    const fetchBody = { roomId: room.roomId, after: 0, limit: 10 };
    expect((await t.ask(t.bob, '/rooms/fetch', fetchBody)).status).toBe(200);

    t.pins.set(t.bob.fingerprint, 'blocked');
    const fetched = await t.ask(t.bob, '/rooms/fetch', fetchBody);
    expect(fetched.status).toBe(403);
    expect(JSON.stringify(fetched.body)).not.toContain('wrapped');
    const again = await t.ask(t.bob, '/rooms/join', t.joinBody(room.roomId));
    expect(again.status).toBe(403);
    expect(JSON.stringify(again.body)).not.toContain('kek');
  });

  it('is sent no key of a rotation after it is blocked', async () => {
    const { room, ...t } = await bobJoined();
    t.pins.set(t.bob.fingerprint, 'blocked');
    await t.rooms.rotate(room.roomId);
    expect(t.rooms.list().find((r) => r.roomId === room.roomId)?.epoch).toBe(2);
    expect(t.keysTo(t.bob.fingerprint)).toEqual([]);
  });

  it('is not granted keys when an owner approves its earlier request', async () => {
    const t = await tofuHost();
    const room = await t.rooms.create({ name: 'a', policy: 'approval' });
    const asked = await t.ask(t.bob, '/rooms/join', t.joinBody(room.roomId));
    expect(asked).toMatchObject({ status: 202, body: { state: 'pending' } });
    t.pins.set(t.bob.fingerprint, 'blocked');
    await expect(t.rooms.approve(room.roomId, t.bob.fingerprint)).rejects.toMatchObject({
      code: 'ERR_FORBIDDEN',
    });
    await new Promise((r) => setImmediate(r));
    expect(t.keysTo(t.bob.fingerprint)).toEqual([]);
    // refused before it became a member: not left in the room without keys
    expect(t.rooms.members(room.roomId).map((m) => m.peerId)).not.toContain(t.bob.fingerprint);
  });
});
