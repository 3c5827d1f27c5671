/**
 * Join grants and membership changes under attack (found by a review), in-process with real
 * crypto: a grant pushed by a peer that is not the host our request waits on, a grant for another
 * room than the one joined, a re-join under `--trust strict` by a member the owner no longer
 * trusts, a re-join that swaps the member's public key, a leave while a member is away, and role
 * changes that cannot apply.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, createRoomsNet, type InprocPeer, type RoomsNet } from '../support/rooms-inproc.js';
import { until } from '../support/rotation-net.js';

let net: RoomsNet;
afterEach(() => net?.close());

const joinBody = (p: InprocPeer, roomId: string, publicKey = p.identity.publicKeyBytes) => ({
  roomId,
  name: p.name,
  kind: 'ed25519' as const,
  publicKey: publicKey.toString('base64url'),
});

/** A real, schema-valid grant from `host` for its own open room, as `joiner` would receive it. */
async function realGrant(host: InprocPeer, joiner: InprocPeer): Promise<Record<string, unknown>> {
  const own = await host.rooms.create({ name: 'bait', policy: 'open' });
  const r = await joiner.request(host, '/rooms/join', joinBody(joiner, own.roomId));
  expect(r.status).toBe(200);
  return r.body as Record<string, unknown>;
}

/** A fresh in-process net with peers alice, bob and a third (`other`), links up. */
async function threePeers(other: string): Promise<[InprocPeer, InprocPeer, InprocPeer]> {
  net = createRoomsNet();
  return [await net.add('alice'), await net.add('bob'), await net.add(other)];
}

/** A fresh net: alice hosts an open room `name`, bob is in it. */
async function hostAndMember(name: string) {
  net = createRoomsNet();
  const a = await net.add('alice');
  const b = await net.add('bob');
  const room = await a.rooms.create({ name, policy: 'open' });
  await b.rooms.join(room.roomId, {});
  return { a, b, room };
}

const stateOf = (p: InprocPeer, roomId: string) => p.rooms.list().find((r) => r.roomId === roomId);

describe('join grants', () => {
  it('a peer that is not the host cannot admit a pending member to the room', async () => {
    const [a, b, m] = await threePeers('mallory');
    const room = await a.rooms.create({ name: 'gate', policy: 'approval' });
    expect((await b.rooms.join(room.roomId, {})).state).toBe('pending');
    const grant = await realGrant(m, b);
    const forged = {
      ...grant,
      room: { ...(grant.room as Record<string, unknown>), roomId: room.roomId, host: m.id },
    };
    b.rooms.handlePush(m.id, { type: 'room.admitted', grant: forged });
    await new Promise((r) => setTimeout(r, 50));
    expect(stateOf(b, room.roomId)).toMatchObject({ state: 'pending', host: a.id });
    // the real owner's approval still works
    await a.rooms.approve(room.roomId, b.id);
    await until(() => stateOf(b, room.roomId)?.state === 'active', 'bob admitted');
    expect(stateOf(b, room.roomId)).toMatchObject({ host: a.id });
  });

  it('a grant naming another room than the one joined is refused, and that room’s key is untouched', async () => {
    const [a, b, m] = await threePeers('mallory');
    const room = await a.rooms.create({ name: 'den', policy: 'invite' });
    await b.rooms.join(room.roomId, { invite: (await a.rooms.invite(room.roomId)).code });
    const bait = await m.rooms.create({ name: 'bait', policy: 'open' });
    // mallory answers bob's join of her room with a grant for alice's room
    const honest = m.rooms.handleRequest.bind(m.rooms);
    (m.rooms as { handleRequest: typeof honest }).handleRequest = (from, inner) => {
      const r = honest(from, inner);
      if (!r || inner.path !== '/rooms/join') return r;
      return r.then((answer) => {
        const body = answer.body as { room?: Record<string, unknown> } | undefined;
        if (!body?.room) return answer;
        return { ...answer, body: { ...body, room: { ...body.room, roomId: room.roomId } } };
      });
    };
    expect(await codeOf(b.rooms.join(bait.roomId, {}))).toBe('ERR_INVALID_MESSAGE');
    // bob still takes alice's next epoch key and reads what she sends under it
    await a.rooms.rotate(room.roomId);
    await until(() => stateOf(b, room.roomId)?.epoch === 2, 'bob on epoch 2');
    await a.rooms.send(room.roomId, 'after the rotation');
    await until(() => b.rooms.messages(room.roomId, 0, 10).length === 1, 'bob reads it');
    expect(b.rooms.messages(room.roomId, 0, 10)[0]).toMatchObject({ text: 'after the rotation' });
    expect(stateOf(b, room.roomId)).toMatchObject({ state: 'active', host: a.id });
  });

  it('under --trust strict, a member the owner no longer trusts gets no keys by joining again', async () => {
    net = createRoomsNet();
    const verified = new Set<string>();
    const a = await net.add('alice', { strict: { verified } });
    const b = await net.add('bob');
    verified.add(b.id);
    const room = await a.rooms.create({ name: 'strict', policy: 'open' });
    await b.rooms.join(room.roomId, {});
    verified.delete(b.id);
    const again = await b.request(a, '/rooms/join', joinBody(b, room.roomId));
    expect(again).toMatchObject({ status: 403, body: { code: 'ERR_NOT_VERIFIED' } });
    expect(JSON.stringify(again.body)).not.toContain('kek');
  });

  it('a member cannot re-join with a public key that is not its own', async () => {
    const [a, b, c] = await threePeers('carol');
    const room = await a.rooms.create({ name: 'keys', policy: 'open' });
    await b.rooms.join(room.roomId, {});
    const swapped = await b.request(
      a,
      '/rooms/join',
      joinBody(b, room.roomId, c.identity.publicKeyBytes),
    );
    expect(swapped).toMatchObject({ body: { code: 'ERR_INVALID_ARGUMENT' } });
  });
});

describe('membership changes', () => {
  it('leaving answers at once though a member is away (the rotation commits later)', async () => {
    const [a, b, c] = await threePeers('carol');
    const room = await a.rooms.create({ name: 'away', policy: 'open' });
    await b.rooms.join(room.roomId, {});
    await c.rooms.join(room.roomId, {});
    net.peers.delete(c.id); // carol is gone: she will not ack the leave's rotation
    const t0 = Date.now();
    await b.rooms.leave(room.roomId);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(stateOf(b, room.roomId)?.state).toBe('left');
    expect(stateOf(a, room.roomId)?.epoch).toBe(2); // the old key is refused already
  });

  it('a leave the host already took (answer lost) still leaves locally', async () => {
    const { a, b, room } = await hostAndMember('twice');
    expect((await b.request(a, '/rooms/leave', { roomId: room.roomId })).status).toBe(200);
    await b.rooms.leave(room.roomId); // the host answers ERR_NOT_MEMBER now
    expect(stateOf(b, room.roomId)?.state).toBe('left');
  });

  it('a role change that cannot apply is refused, not reported as done', async () => {
    const { a, b, room } = await hostAndMember('roles');
    await b.rooms.leave(room.roomId);
    expect(await codeOf(a.rooms.setRole(room.roomId, b.id, 'admin'))).toBe('ERR_NOT_FOUND');
    expect(await codeOf(a.rooms.setRole(room.roomId, a.id, 'member'))).toBe('ERR_FORBIDDEN');
    expect(a.rooms.members(room.roomId).find((x) => x.peerId === a.id)?.role).toBe('owner');
  });
});
