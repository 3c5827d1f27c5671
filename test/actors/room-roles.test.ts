/**
 * Roles: the owner makes a member an admin; an admin invites, approves and kicks members from its
 * own peer (the host authorizes by role), but cannot remove another admin or change roles; a plain
 * member can do none of it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, createRoomsNet, type RoomsNet } from '../support/rooms-inproc.js';

let net: RoomsNet;
afterEach(() => net?.close());

describe('room roles', () => {
  it('lets the owner grant admin, and the host enforces what each role may do', async () => {
    net = createRoomsNet();
    const a = await net.add('alice');
    const b = await net.add('bob');
    const c = await net.add('carol');
    const d = await net.add('dave');
    const room = await a.rooms.create({ name: 'club', policy: 'invite' });
    for (const m of [b, c])
      await m.rooms.join(room.roomId, { invite: (await a.rooms.invite(room.roomId)).code });

    // a plain member may not invite, kick or change roles
    expect(await codeOf(c.rooms.invite(room.roomId))).toBe('ERR_FORBIDDEN');
    expect(await codeOf(c.rooms.kick(room.roomId, b.id, false))).toBe('ERR_FORBIDDEN');
    expect(await codeOf(c.rooms.setRole(room.roomId, b.id, 'admin'))).toBe('ERR_FORBIDDEN');

    await a.rooms.setRole(room.roomId, b.id, 'admin');
    expect(a.rooms.members(room.roomId).find((m) => m.peerId === b.id)?.role).toBe('admin');

    // the admin invites from its own peer; the code works for a new peer
    const code = (await b.rooms.invite(room.roomId)).code;
    await d.rooms.join(room.roomId, { invite: code });
    expect(
      a.rooms
        .members(room.roomId)
        .map((m) => m.name)
        .sort(),
    ).toEqual(['alice', 'bob', 'carol', 'dave']);
    // … but changes no roles, and removes no other admin
    expect(await codeOf(b.rooms.setRole(room.roomId, c.id, 'admin'))).toBe('ERR_FORBIDDEN');
    await a.rooms.setRole(room.roomId, c.id, 'admin');
    expect(await codeOf(b.rooms.kick(room.roomId, c.id, false))).toBe('ERR_FORBIDDEN');
    // it removes a member
    await b.rooms.kick(room.roomId, d.id, false);
    expect(a.rooms.members(room.roomId).some((m) => m.peerId === d.id)).toBe(false);
    // nobody removes the owner
    expect(await codeOf(b.rooms.kick(room.roomId, a.id, false))).toBe('ERR_FORBIDDEN');
  });
});
