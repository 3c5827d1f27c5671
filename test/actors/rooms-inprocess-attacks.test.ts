/**
 * Attacks on rooms that a real client cannot easily stage (a hand-made sealed request to the host),
 * run in-process: rooms runtimes wired by a fake RoomSessions (`test/support/rooms-inproc.ts`).
 * Forged senders, tampered ciphertexts and signatures, replayed envelopes, kicked members, 20
 * concurrent joins against a capacity, used and expired invites.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  codeOf,
  createRoomsNet,
  epochKeyOf,
  flipBase64url,
  sealEnvelope,
  type InprocPeer,
  type RoomsNet,
} from '../support/rooms-inproc.js';
import type { Envelope } from '../../src/protocol/room.codec.js';
import { until } from '../support/rotation-net.js';

let net: RoomsNet;
afterEach(() => net?.close());

/** A host and two members of an invite room (links up). */
async function trio(): Promise<{ a: InprocPeer; b: InprocPeer; c: InprocPeer; roomId: string }> {
  net = createRoomsNet();
  const a = await net.add('alice');
  const b = await net.add('bob');
  const c = await net.add('carol');
  const room = await a.rooms.create({ name: 'den', policy: 'invite' });
  for (const m of [b, c])
    await m.rooms.join(room.roomId, { invite: (await a.rooms.invite(room.roomId)).code });
  return { a, b, c, roomId: room.roomId };
}

const header = (roomId: string, sender: string, id: string, epoch = 1) => ({
  roomId,
  epoch,
  sender,
  id,
  sentAt: new Date().toISOString(),
  suite: 'aes-256-gcm' as const,
});

describe('room attacks, in-process', () => {
  it('a member cannot post as another member (ERR_FORBIDDEN), nor with a signature that is not the sender’s', async () => {
    const { a, b, c, roomId } = await trio();
    const key = await epochKeyOf(c, roomId, 1);
    // carol makes a message that claims to be bob's, signed with her own key, and sends it herself
    const forged = sealEnvelope(c.identity, key, header(roomId, b.id, 'forged-0001'), 'I am bob');
    const r1 = await c.request(a, '/rooms/send', forged);
    expect(r1).toMatchObject({ status: 403, body: { code: 'ERR_FORBIDDEN' } });
    // … and the same envelope arriving on bob's own session (a relay) fails the signature check
    const r2 = await b.request(a, '/rooms/send', forged);
    expect(r2).toMatchObject({ status: 403, body: { code: 'ERR_BAD_SIGNATURE' } });
    // the same forgery as a push over the link is refused too
    a.rooms.handlePush(c.id, { type: 'room.send', env: forged });
    expect(a.rooms.messages(roomId, 0, 100)).toEqual([]);
    expect(b.rooms.messages(roomId, 0, 100)).toEqual([]);
  });

  it('a tampered ciphertext or signature is refused by the host with ERR_BAD_SIGNATURE', async () => {
    const { a, c, roomId } = await trio();
    const key = await epochKeyOf(c, roomId, 1);
    const good = sealEnvelope(c.identity, key, header(roomId, c.id, 'carol-0001'), 'genuine');
    const badCt: Envelope = { ...good, id: 'carol-0002', ct: flipBase64url(good.ct) };
    const badSig: Envelope = { ...good, id: 'carol-0003', sig: flipBase64url(good.sig) };
    const badHeader: Envelope = { ...good, id: 'carol-0004' }; // id is signed
    for (const env of [badCt, badSig, badHeader]) {
      const r = await c.request(a, '/rooms/send', env);
      expect(r, env.id).toMatchObject({ status: 403, body: { code: 'ERR_BAD_SIGNATURE' } });
    }
    expect(await c.request(a, '/rooms/send', good)).toMatchObject({
      status: 200,
      body: { seq: 1 },
    });
    expect(a.rooms.messages(roomId, 0, 10).map((m) => m.text)).toEqual(['genuine']);
  });

  it('a member that signs garbage gets it stored, but every reader sees text null with an error', async () => {
    const { a, b, c, roomId } = await trio();
    const key = await epochKeyOf(c, roomId, 1);
    const h = header(roomId, c.id, 'carol-junk-1');
    const good = sealEnvelope(c.identity, key, h, 'fine');
    // carol re-signs a corrupted ciphertext: the signature is hers and valid, the AEAD tag is not
    const { signMessage } = await import('../../src/crypto/room.js');
    const ct = Buffer.from(flipBase64url(good.ct), 'base64url');
    const junk: Envelope = {
      ...good,
      ct: ct.toString('base64url'),
      sig: signMessage(c.identity.privateKey, h, ct).toString('base64url'),
    };
    expect(await c.request(a, '/rooms/send', junk)).toMatchObject({ status: 200 });
    await until(() => b.rooms.messages(roomId, 0, 10).length === 1, 'bob receives it');
    for (const p of [a, b, c]) {
      const [m] = p.rooms.messages(roomId, 0, 10);
      expect(m, p.name).toMatchObject({
        seq: 1,
        text: null,
        error: { code: 'ERR_DECRYPT_FAILED' },
      });
    }
  });

  it('a replayed envelope is not sequenced twice', async () => {
    const { a, b, c, roomId } = await trio();
    const key = await epochKeyOf(c, roomId, 1);
    const env = sealEnvelope(c.identity, key, header(roomId, c.id, 'carol-once-1'), 'only once');
    expect(await c.request(a, '/rooms/send', env)).toMatchObject({ status: 200, body: { seq: 1 } });
    // the exact same envelope again, by request and by push, several times
    for (let i = 0; i < 3; i++) {
      expect(await c.request(a, '/rooms/send', env)).toMatchObject({
        status: 200,
        body: { seq: 1 },
      });
      a.rooms.handlePush(c.id, { type: 'room.send', env });
    }
    // same sender and id with another ciphertext: still the first message
    const other = sealEnvelope(c.identity, key, header(roomId, c.id, 'carol-once-1'), 'changed');
    expect(await c.request(a, '/rooms/send', other)).toMatchObject({ body: { seq: 1 } });
    await b.rooms.send(roomId, 'next');
    await until(() => c.rooms.messages(roomId, 0, 10).length === 2, 'carol sees both');
    for (const p of [a, b, c])
      expect(
        p.rooms.messages(roomId, 0, 10).map((m) => [m.seq, m.text]),
        p.name,
      ).toEqual([
        [1, 'only once'],
        [2, 'next'],
      ]);
  });

  it('a kicked member’s sends and fetches are refused (ERR_NOT_MEMBER) and it never gets the next epoch key', async () => {
    const { a, b, c, roomId } = await trio();
    await c.rooms.send(roomId, 'before the kick');
    const key1 = await epochKeyOf(c, roomId, 1);
    await a.rooms.kick(roomId, c.id, false);
    await until(() => a.rooms.list().find((r) => r.roomId === roomId)?.epoch === 2, 'epoch 2');
    await until(() => b.rooms.list().find((r) => r.roomId === roomId)?.epoch === 2, 'bob epoch 2');
    const after = await b.rooms.send(roomId, 'after the kick');
    expect(after.epoch).toBe(2);

    const late = sealEnvelope(
      c.identity,
      key1,
      header(roomId, c.id, 'carol-late-1'),
      'still here?',
    );
    expect(await c.request(a, '/rooms/send', late)).toMatchObject({
      status: 403,
      body: { code: 'ERR_NOT_MEMBER' },
    });
    expect(await c.request(a, '/rooms/fetch', { roomId, after: 0, limit: 10 })).toMatchObject({
      status: 403,
      body: { code: 'ERR_NOT_MEMBER' },
    });
    expect(await codeOf(c.rooms.send(roomId, 'hello?'))).toBe('ERR_NOT_MEMBER');
    expect(await c.keystore.getSecret(`room.${roomId}.e.2`)).toBeUndefined();
    expect(c.rooms.messages(roomId, 0, 10).map((m) => m.text)).toEqual(['before the kick']);
    expect(c.feed.some((e) => e.type === 'message' && e.data.text === 'after the kick')).toBe(
      false,
    );
  });

  it('20 peers joining a room of capacity 5 at once: exactly 4 get in, the rest ERR_ROOM_FULL', async () => {
    net = createRoomsNet();
    const a = await net.add('host');
    const room = await a.rooms.create({ name: 'small', policy: 'open', capacity: 5 });
    const joiners = await Promise.all(Array.from({ length: 20 }, (_, i) => net.add(`j${i}`)));
    const codes = await Promise.all(joiners.map((j) => codeOf(j.rooms.join('small', {}))));
    expect(codes.filter((x) => x === 'resolved')).toHaveLength(4);
    expect(codes.filter((x) => x === 'ERR_ROOM_FULL')).toHaveLength(16);
    expect(a.rooms.members(room.roomId)).toHaveLength(5);
  });

  it('an invite works once (ERR_INVITE_USED after) and not after it expires (ERR_INVITE_EXPIRED)', async () => {
    net = createRoomsNet();
    let now = Date.parse('2030-01-01T00:00:00Z');
    const clock = () => new Date(now);
    const a = await net.add('alice', { now: clock });
    const [b, c, d] = [await net.add('bob'), await net.add('carol'), await net.add('dave')];
    const room = await a.rooms.create({ name: 'guarded', policy: 'invite' });
    const code = (await a.rooms.invite(room.roomId)).code;
    await b.rooms.join(room.roomId, { invite: code });
    expect(await codeOf(c.rooms.join(room.roomId, { invite: code }))).toBe('ERR_INVITE_USED');
    // without an invite, an invite-only room refuses
    expect(await codeOf(c.rooms.join('guarded', {}))).toBe('ERR_INVITE_INVALID');

    const fresh = await a.rooms.invite(room.roomId);
    now += 24 * 3_600_000 + 1_000;
    expect(Date.parse(fresh.expiresAt)).toBeLessThan(now);
    expect(await codeOf(d.rooms.join(room.roomId, { invite: fresh.code }))).toBe(
      'ERR_INVITE_EXPIRED',
    );
    expect(
      a.rooms
        .members(room.roomId)
        .map((m) => m.name)
        .sort(),
    ).toEqual(['alice', 'bob']);
  });

  it('a wrong room password is refused with ERR_WRONG_PASSWORD; the right one gets in', async () => {
    net = createRoomsNet();
    const a = await net.add('alice');
    const b = await net.add('bob');
    await a.rooms.create({ name: 'locked', password: 'open sesame' });
    expect(await codeOf(b.rooms.join('locked', { password: 'open says me' }))).toBe(
      'ERR_WRONG_PASSWORD',
    );
    expect(await codeOf(b.rooms.join('locked', {}))).toBe('ERR_WRONG_PASSWORD');
    expect(await codeOf(b.rooms.join('locked', { password: 'open sesame' }))).toBe('resolved');
  });

  it('--trust strict: no room key for an unverified peer (ERR_NOT_VERIFIED), none after it is unverified', async () => {
    net = createRoomsNet();
    const verified = new Set<string>();
    const a = await net.add('alice', { strict: { verified } });
    const b = await net.add('bob');
    const room = await a.rooms.create({ name: 'strict-room' });
    expect(await codeOf(b.rooms.join('strict-room', {}))).toBe('ERR_NOT_VERIFIED');
    verified.add(b.id); // the owner compared fingerprints and ran `conclave verify`
    expect(await codeOf(b.rooms.join('strict-room', {}))).toBe('resolved');
    await b.rooms.send(room.roomId, 'hello');
    // unverified again: the next rotation's key is not delivered, nor is any catch-up
    verified.delete(b.id);
    const rotated = await a.rooms.rotate(room.roomId);
    expect(rotated).toMatchObject({ state: 'distributing', acked: 0, total: 1 }); // bob waits
    const next = rotated.epoch;
    expect(await b.keystore.getSecret(`room.${room.roomId}.e.${next}`)).toBeUndefined();
    expect(
      (
        await a.rooms.handleRequest(b.id, {
          method: 'POST',
          path: '/rooms/fetch',
          body: { roomId: room.roomId, after: 0, limit: 10 },
        })
      )?.body,
    ).toMatchObject({ code: 'ERR_NOT_VERIFIED' });
  });

  it('a retry with the same id answers the very same result, sentAt included', async () => {
    net = createRoomsNet();
    const a = await net.add('alice', { linkUp: false });
    const b = await net.add('bob', { linkUp: false });
    const room = await a.rooms.create({ name: 'retry', policy: 'invite' });
    await b.rooms.join(room.roomId, { invite: (await a.rooms.invite(room.roomId)).code });
    const [r1, r2] = await Promise.all([
      b.rooms.send(room.roomId, 'same', 'bob-retry-0001'),
      b.rooms.send(room.roomId, 'same', 'bob-retry-0001'),
    ]);
    expect(a.rooms.messages(room.roomId, 0, 10)).toHaveLength(1);
    expect(r2).toEqual(r1);
    expect(r1.sentAt).toBe(a.rooms.messages(room.roomId, 0, 10)[0]?.sentAt);
  });
});
