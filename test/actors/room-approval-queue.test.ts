/**
 * The approval queue of a room under abuse (in one process, real runtime and log, fake sessions:
 * `test/support/rotation-net.ts`; the clock moved with `vi.setSystemTime`). Identities are free,
 * so 256 throwaway ones can fill a room's queue: requests the owner never approves must expire
 * and make room for honest joiners, each drop recorded in the room's stream; an expired request
 * cannot be approved; one peer id holds one slot; and a peer still waiting can withdraw.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateIdentity, type Identity } from '../../src/crypto/index.js';
import { MAX_PENDING, PENDING_TTL_MS } from '../../src/machines/room.types.js';
import type { InnerResponse } from '../../src/protocol/sealed.codec.js';
import { codeOf } from '../support/rooms-inproc.js';
import {
  createRotationNet,
  until,
  type NetPeer,
  type RotationNet,
} from '../support/rotation-net.js';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
let net: RotationNet | undefined;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});
afterEach(async () => {
  await net?.close();
  net = undefined;
  vi.useRealTimers();
});

/** alice hosts an approval room with room for everyone; bob is an honest joiner. */
async function approvalRoom() {
  net = createRotationNet();
  const a = await net.add('alice');
  const b = await net.add('bob');
  const { roomId } = await a.rooms.create({ name: 'door', policy: 'approval', capacity: 1_000 });
  return { a, b, roomId };
}

/** `/rooms/join` sent to the host as `who` (any identity: a session is all it takes). */
function ask(host: NetPeer, who: Identity, roomId: string, publicKey = who.publicKeyBytes) {
  const body = {
    roomId,
    name: 'throwaway',
    kind: 'ed25519',
    publicKey: publicKey.toString('base64url'),
  };
  return host.rooms.handleRequest(who.fingerprint, {
    method: 'POST',
    path: '/rooms/join',
    body,
  }) as Promise<InnerResponse>;
}

async function throwaways(n: number): Promise<Identity[]> {
  return Promise.all(Array.from({ length: n }, () => generateIdentity('ed25519')));
}

const pendingOf = (p: NetPeer, roomId: string) =>
  (p.rooms.list().find((r) => r.roomId === roomId)?.pending ?? []).map((x) => x.peerId);

const stateOf = (p: NetPeer, roomId: string) =>
  p.rooms.list().find((r) => r.roomId === roomId)?.state;

/** The `room:<id>` events of `type` in a peer's log. */
async function roomLog(p: NetPeer, roomId: string, type: string) {
  await p.runtime.writer.flush();
  return (await p.store.readAll({ streamPrefix: `room:${roomId}` })).filter(
    (e) => e.stream === `room:${roomId}` && e.type === type,
  );
}

describe('an approval room whose owner ignores requests', () => {
  it(`a queue filled by ${MAX_PENDING} throwaway identities admits an honest joiner once they expire`, async () => {
    const { a, b, roomId } = await approvalRoom();
    const spam = await throwaways(MAX_PENDING);
    for (const who of spam) expect((await ask(a, who, roomId)).status).toBe(202);
    expect(await codeOf(b.rooms.join(roomId, {}))).toBe('ERR_ROOM_FULL');

    vi.setSystemTime(T0 + PENDING_TTL_MS - 60_000); // still live: still full
    expect(await codeOf(b.rooms.join(roomId, {}))).toBe('ERR_ROOM_FULL');

    vi.setSystemTime(T0 + PENDING_TTL_MS + 1_000);
    expect(await b.rooms.join(roomId, {})).toMatchObject({ awaitingApproval: true });
    expect(pendingOf(a, roomId)).toEqual([b.id]);
    const dropped = await roomLog(a, roomId, 'member.expire');
    expect(dropped.map((e) => e.data['peerId']).sort()).toEqual(
      spam.map((i) => i.fingerprint).sort(),
    );
    await a.rooms.approve(roomId, b.id);
    await until(() => stateOf(b, roomId) === 'active', 'bob admitted');
  });

  it('does not show an expired request, and approving it answers ERR_NOT_FOUND', async () => {
    const { a, b, roomId } = await approvalRoom();
    await b.rooms.join(roomId, {});
    expect(pendingOf(a, roomId)).toEqual([b.id]);
    vi.setSystemTime(T0 + PENDING_TTL_MS);
    expect(pendingOf(a, roomId)).toEqual([]);
    expect(await codeOf(a.rooms.approve(roomId, b.id))).toBe('ERR_NOT_FOUND');
    expect(a.rooms.members(roomId).map((m) => m.peerId)).toEqual([a.id]);
    expect((await roomLog(a, roomId, 'member.expire')).map((e) => e.data['peerId'])).toEqual([
      b.id,
    ]);
    expect(await roomLog(a, roomId, 'member.approve')).toEqual([]);
    // asking again starts a fresh request
    await b.rooms.join(roomId, {});
    await a.rooms.approve(roomId, b.id);
    await until(() => stateOf(b, roomId) === 'active', 'bob admitted on his second request');
  });

  it('keeps one slot per peer id, however often it asks, and refuses others while full', async () => {
    const { a, roomId } = await approvalRoom();
    const [again, ...rest] = await throwaways(MAX_PENDING + 1);
    for (let i = 0; i < 3; i++) expect((await ask(a, again!, roomId)).status).toBe(202);
    expect(pendingOf(a, roomId)).toEqual([again!.fingerprint]);
    for (const who of rest.slice(0, MAX_PENDING - 1)) await ask(a, who, roomId);
    expect(pendingOf(a, roomId)).toHaveLength(MAX_PENDING);
    const late = rest[MAX_PENDING - 1]!;
    expect((await ask(a, late, roomId)).body).toMatchObject({ code: 'ERR_ROOM_FULL' });
    expect((await ask(a, again!, roomId)).status).toBe(202); // its own slot, asked again
    // a slot is the session's peer id: a request naming another peer's key is refused
    const r = await ask(a, late, roomId, again!.publicKeyBytes);
    expect(r.body).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(pendingOf(a, roomId)).toHaveLength(MAX_PENDING);
  });
});

describe('a peer waiting for approval', () => {
  it('withdraws its request by leaving: the host drops it, and nothing rotates', async () => {
    const { a, b, roomId } = await approvalRoom();
    await b.rooms.join(roomId, {});
    expect(pendingOf(a, roomId)).toEqual([b.id]);
    await b.rooms.leave(roomId);
    expect(stateOf(b, roomId)).toBe('left');
    expect(pendingOf(a, roomId)).toEqual([]);
    expect((await roomLog(a, roomId, 'member.leave')).map((e) => e.data['peerId'])).toEqual([b.id]);
    expect(await codeOf(a.rooms.approve(roomId, b.id))).toBe('ERR_NOT_FOUND');
    expect(a.rooms.list().find((r) => r.roomId === roomId)?.epoch).toBe(1);
    await a.runtime.writer.flush();
    expect(await a.store.readAll({ streamPrefix: `rotation:${roomId}:` })).toEqual([]);
    // it may ask again later
    expect(await b.rooms.join(roomId, {})).toMatchObject({ awaitingApproval: true });
    expect(pendingOf(a, roomId)).toEqual([b.id]);
  });
});
