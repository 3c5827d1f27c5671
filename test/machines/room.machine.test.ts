import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import { expiredRequests, isRequestExpired, joinRefusal } from '../../src/machines/room.context.js';
import { roomMachine } from '../../src/machines/room.machine.js';
import {
  MAX_INVITES,
  MAX_PENDING,
  PENDING_TTL_MS,
  type RoomContext,
  type RoomEvent,
  type RoomInfo,
  type RoomMember,
  type RoomStateName,
} from '../../src/machines/room.types.js';

type Snap = SnapshotFrom<typeof roomMachine>;

const ROOM = 'room_0123456789abcdef';
const STREAM = `room:${ROOM}`;
const HOST = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const D = 'd'.repeat(64);
const T0 = '2030-01-01T00:00:00.000Z';
const T1 = '2030-01-01T00:01:00.000Z';
const T2 = '2030-01-01T00:02:00.000Z';
const T3 = '2030-01-01T00:03:00.000Z';

const peer = (i: number): string => i.toString(16).padStart(64, '0');

const aMember = (peerId: string, role: RoomMember['role'] = 'member', at = T0): RoomMember => ({
  peerId,
  name: `n-${peerId.slice(0, 4)}`,
  role,
  kind: 'ed25519',
  publicKey: `pk-${peerId.slice(0, 8)}`,
  joinedAt: at,
});

const anInfo = (overrides: Partial<RoomInfo> = {}): RoomInfo => ({
  roomId: ROOM,
  name: 'ops',
  topic: 'on call',
  policy: 'open',
  capacity: 10,
  suite: 'aes-256-gcm',
  host: HOST,
  hostName: 'alice',
  rotation: { everyMessages: null, everyMinutes: null, keepEpochs: 2 },
  ...overrides,
});

const send = (s: Snap, ev: RoomEvent): Snap => transition(roomMachine, s, ev)[0];
const run = (s: Snap, events: readonly RoomEvent[]): Snap => events.reduce(send, s);
/** Whether `ev` was accepted (xstate returns the same snapshot object when nothing was taken). */
const accepts = (s: Snap, ev: RoomEvent): boolean => send(s, ev) !== s;

/** Expect `ev` not to be accepted: same state, same context object. */
function expectRefused(s: Snap, ev: RoomEvent): void {
  const [next, actions] = transition(roomMachine, s, ev);
  expect(next.value).toEqual(s.value);
  expect(next.context).toBe(s.context);
  expect(actions).toEqual([]);
}

const fresh = (self = HOST): Snap =>
  initialTransition(roomMachine, { stream: STREAM, roomId: ROOM, self })[0];

const created = (overrides: Partial<RoomInfo> = {}): RoomEvent => ({
  type: 'room.created',
  owner: aMember(HOST, 'owner'),
  at: T0,
  ...anInfo(overrides),
});

const hostRoom = (overrides: Partial<RoomInfo> = {}): Snap => send(fresh(), created(overrides));

const join = (
  peerId: string,
  via: Extract<RoomEvent, { type: 'member.join' }>['via'],
  extra: { inviteHash?: string; at?: string } = {},
): RoomEvent => ({
  type: 'member.join',
  member: aMember(peerId, 'member', extra.at ?? T1),
  via,
  ...(extra.inviteHash === undefined ? {} : { inviteHash: extra.inviteHash }),
  at: extra.at ?? T1,
});

const invite = (hash: string, expiresAt: string, at = T0): RoomEvent => ({
  type: 'invite.create',
  hash,
  expiresAt,
  by: HOST,
  at,
});

const msg = (
  type: 'message.sequence' | 'message.receive',
  seq: number,
  overrides: { sender?: string; id?: string } = {},
): RoomEvent => ({
  type,
  seq,
  id: overrides.id ?? `msg-${seq}`,
  sender: overrides.sender ?? B,
  epoch: 1,
  sentAt: T1,
  suite: 'aes-256-gcm',
  ct: 'Y2lwaGVydGV4dA',
  sig: 'c2lnbmF0dXJl',
  at: T1,
});

const joined = (
  overrides: Partial<Extract<RoomEvent, { type: 'room.joined' }>> = {},
): RoomEvent => ({
  type: 'room.joined',
  room: anInfo(),
  members: [aMember(HOST, 'owner'), aMember(B)],
  epoch: 3,
  seq: 7,
  hostUrls: ['http://10.0.0.1:7000'],
  at: T1,
  ...overrides,
});

const memberRoom = (): Snap => send(fresh(B), joined());

const memberCount = (s: Snap): number => Object.keys(s.context.members).length;

describe('room machine: host side', () => {
  it('starts in new and becomes active with the owner as its only member when created', () => {
    expect(fresh().value).toBe('new');
    const s = hostRoom();
    expect(s.value).toBe('active');
    expect(s.context).toMatchObject({
      isHost: true,
      roomId: ROOM,
      name: 'ops',
      policy: 'open',
      epoch: 1,
      seq: 0,
      host: HOST,
    });
    expect(s.context.members).toEqual({ [HOST]: aMember(HOST, 'owner') });
  });

  it('admits anyone to an open room', () => {
    const s = send(hostRoom(), join(B, 'open'));
    expect(s.context.members[B]).toEqual(aMember(B, 'member', T1));
  });

  it('refuses a join whose policy differs from the room policy', () => {
    const s = hostRoom({ policy: 'password' });
    expectRefused(s, join(B, 'open'));
    expect(accepts(s, join(B, 'password'))).toBe(true);
    expectRefused(hostRoom(), join(B, 'password'));
  });

  it('refuses a join of a peer already a member', () => {
    const s = send(hostRoom(), join(B, 'open'));
    expectRefused(s, join(B, 'open'));
    expect(joinRefusal(s.context, B, 'open', undefined, T1)).toBe('member');
  });

  it('refuses an owner join once the room has its owner', () => {
    expectRefused(hostRoom(), join(B, 'owner'));
  });

  it('does not accept joins on the member side', () => {
    expectRefused(memberRoom(), join(C, 'open'));
  });

  describe('invites', () => {
    const H1 = '1'.repeat(64);
    const H2 = '2'.repeat(64);

    it('admits a peer with a live invite and deletes the invite', () => {
      let s = hostRoom({ policy: 'invite' });
      s = send(s, invite(H1, T2));
      expect(s.context.invites[H1]).toEqual({ expiresAt: T2, by: HOST });
      s = send(s, join(B, 'invite', { inviteHash: H1, at: T1 }));
      expect(s.context.members[B]).toBeDefined();
      expect(s.context.invites[H1]).toBeUndefined();
    });

    it('refuses a second use of the same invite', () => {
      let s = hostRoom({ policy: 'invite' });
      s = run(s, [invite(H1, T2), join(B, 'invite', { inviteHash: H1, at: T1 })]);
      expect(joinRefusal(s.context, C, 'invite', H1, T1)).toBe('invite-unknown');
      expectRefused(s, join(C, 'invite', { inviteHash: H1, at: T1 }));
    });

    it('refuses an unknown invite hash, or none at all', () => {
      const s = send(hostRoom({ policy: 'invite' }), invite(H1, T2));
      expect(joinRefusal(s.context, B, 'invite', H2, T1)).toBe('invite-unknown');
      expectRefused(s, join(B, 'invite', { inviteHash: H2, at: T1 }));
      expectRefused(s, join(B, 'invite', { at: T1 }));
    });

    it('refuses an invite expired at the time the event carries (and at its exact expiry)', () => {
      const s = send(hostRoom({ policy: 'invite' }), invite(H1, T2));
      expect(joinRefusal(s.context, B, 'invite', H1, T3)).toBe('invite-expired');
      expectRefused(s, join(B, 'invite', { inviteHash: H1, at: T3 }));
      expectRefused(s, join(B, 'invite', { inviteHash: H1, at: T2 }));
      expect(accepts(s, join(B, 'invite', { inviteHash: H1, at: T1 }))).toBe(true);
    });

    it('refuses invite.create on the member side', () => {
      expectRefused(memberRoom(), invite(H1, T2));
    });

    it(`keeps at most MAX_INVITES (${MAX_INVITES}) invites, dropping the oldest`, () => {
      let s = hostRoom({ policy: 'invite' });
      const total = MAX_INVITES + 40;
      for (let i = 0; i < total; i++) s = send(s, invite(peer(i + 1), T3, T0));
      const kept = Object.keys(s.context.invites);
      expect(kept).toHaveLength(MAX_INVITES);
      expect(kept).toContain(peer(total));
      expect(kept).not.toContain(peer(1));
      expect(kept).not.toContain(peer(40));
      expect(kept).toContain(peer(41));
    });

    it('prunes expired invites when a new one is made', () => {
      let s = hostRoom({ policy: 'invite' });
      s = run(s, [invite(H1, T1, T0), invite(H2, T3, T0)]);
      s = send(s, invite('3'.repeat(64), T3, T2));
      expect(Object.keys(s.context.invites).sort()).toEqual([H2, '3'.repeat(64)]);
    });
  });

  describe('approval', () => {
    const request = (peerId: string, at = T1): RoomEvent => {
      const { role: _role, ...rest } = aMember(peerId, 'member', at);
      return { type: 'member.request', member: rest, at };
    };
    const approve = (peerId: string, at = T2): RoomEvent => ({
      type: 'member.approve',
      peerId,
      by: HOST,
      at,
    });

    it('puts a request in pending and makes it a member when approved', () => {
      let s = hostRoom({ policy: 'approval' });
      s = send(s, request(B));
      expect(s.context.pending[B]).toBeDefined();
      expect(s.context.members[B]).toBeUndefined();
      s = send(s, approve(B, T2));
      expect(s.context.pending[B]).toBeUndefined();
      expect(s.context.members[B]).toEqual({ ...aMember(B, 'member', T1), joinedAt: T2 });
    });

    it('refuses to approve a peer that has not asked', () => {
      expectRefused(hostRoom({ policy: 'approval' }), approve(B));
    });

    it('refuses requests when the room policy is not approval, or from members and banned peers', () => {
      expectRefused(hostRoom(), request(B));
      let s = hostRoom({ policy: 'approval' });
      s = send(s, { type: 'member.remove', peerId: C, by: HOST, ban: true, at: T1 });
      expectRefused(s, request(C));
      expectRefused(s, request(HOST));
    });

    it(`keeps at most MAX_PENDING (${MAX_PENDING}) requests but lets one already pending re-ask`, () => {
      let s = hostRoom({ policy: 'approval', capacity: 100_000 });
      for (let i = 0; i < MAX_PENDING; i++) s = send(s, request(peer(1000 + i)));
      expect(Object.keys(s.context.pending)).toHaveLength(MAX_PENDING);
      expectRefused(s, request(B));
      expect(accepts(s, request(peer(1000), T3))).toBe(true);
    });

    it('refuses an approval when the room is full', () => {
      let s = hostRoom({ policy: 'approval', capacity: 2 });
      s = run(s, [request(B), request(C), approve(B)]);
      expect(memberCount(s)).toBe(2);
      expectRefused(s, approve(C));
    });

    it('refuses a direct member.join via approval that skips request and approval', () => {
      expectRefused(hostRoom({ policy: 'approval' }), join(B, 'approval'));
      expectRefused(hostRoom({ policy: 'password' }), join(B, 'approval'));
    });

    describe('expiry', () => {
      const at = (ms: number): string => new Date(Date.parse(T1) + ms).toISOString();
      const LIVE = at(PENDING_TTL_MS - 1);
      const EXPIRED = at(PENDING_TTL_MS);
      const expire = (peerId: string, when: string): RoomEvent => ({
        type: 'member.expire',
        peerId,
        at: when,
      });

      it('drops a request with member.expire only once its time to live has passed', () => {
        const s = send(hostRoom({ policy: 'approval' }), request(B, T1));
        expectRefused(s, expire(B, LIVE));
        const after = send(s, expire(B, EXPIRED));
        expect(after.context.pending).toEqual({});
        expect(after.context.members[B]).toBeUndefined();
      });

      it('refuses member.expire for a peer that is not pending, and on the member side', () => {
        expectRefused(hostRoom({ policy: 'approval' }), expire(B, EXPIRED));
        expectRefused(memberRoom(), expire(B, EXPIRED));
      });

      it('approves a request past its time until it is dropped: expiry is the member.expire event', () => {
        // Logs from before expiry existed (machine version 1) hold such approvals: they must
        // replay the same. The runtime records member.expire first, so it never approves one.
        const s = send(hostRoom({ policy: 'approval' }), request(B, T1));
        expect(accepts(s, approve(B, LIVE))).toBe(true);
        expect(accepts(s, approve(B, EXPIRED))).toBe(true);
        expectRefused(send(s, expire(B, EXPIRED)), approve(B, EXPIRED));
      });

      it('counts the time to live from the latest time a peer asked', () => {
        let s = send(hostRoom({ policy: 'approval' }), request(B, T1));
        s = send(s, request(B, T3));
        expect(s.context.pending[B]?.joinedAt).toBe(T3);
        expectRefused(s, expire(B, EXPIRED));
        expect(accepts(s, approve(B, EXPIRED))).toBe(true);
      });

      it(`a full queue (${MAX_PENDING}) refuses a new request until expired ones are dropped`, () => {
        let s = hostRoom({ policy: 'approval', capacity: 100_000 });
        for (let i = 0; i < MAX_PENDING; i++) s = send(s, request(peer(1000 + i), T1));
        expectRefused(s, request(B, EXPIRED));
        s = send(s, expire(peer(1000), EXPIRED));
        expect(Object.keys(s.context.pending)).toHaveLength(MAX_PENDING - 1);
        s = send(s, request(B, EXPIRED));
        expect(s.context.pending[B]).toBeDefined();
        expect(Object.keys(s.context.pending)).toHaveLength(MAX_PENDING);
        expectRefused(s, request(C, EXPIRED));
      });

      it('lists the expired requests oldest first, and none before their time', () => {
        let s = hostRoom({ policy: 'approval' });
        s = run(s, [request(C, T2), request(B, T1), request(D, T3)]);
        expect(expiredRequests(s.context, LIVE)).toEqual([]);
        expect(isRequestExpired(s.context, B, EXPIRED)).toBe(true);
        expect(expiredRequests(s.context, at(PENDING_TTL_MS + 60_000))).toEqual([B, C]);
      });
    });

    it('withdraws a pending request when that peer leaves', () => {
      let s = send(hostRoom({ policy: 'approval' }), request(B));
      s = send(s, { type: 'member.leave', peerId: B, at: T2 });
      expect(s.context.pending).toEqual({});
      expect(s.context.banned).toEqual({});
      expectRefused(s, approve(B));
    });
  });

  describe('capacity', () => {
    it('does not accept joins beyond capacity (state and context unchanged)', () => {
      let s = hostRoom({ capacity: 3 });
      s = run(s, [join(B, 'open'), join(C, 'open')]);
      expect(memberCount(s)).toBe(3);
      expect(joinRefusal(s.context, D, 'open', undefined, T1)).toBe('full');
      expectRefused(s, join(D, 'open'));
    });

    it('admits again after someone leaves', () => {
      let s = hostRoom({ capacity: 2 });
      s = run(s, [join(B, 'open'), { type: 'member.leave', peerId: B, at: T2 }]);
      expect(accepts(s, join(C, 'open'))).toBe(true);
    });
  });

  describe('leave, remove, ban', () => {
    const remove = (peerId: string, ban: boolean): RoomEvent => ({
      type: 'member.remove',
      peerId,
      by: HOST,
      ban,
      at: T2,
    });

    it('removes a member who leaves', () => {
      let s = send(hostRoom(), join(B, 'open'));
      s = send(s, { type: 'member.leave', peerId: B, at: T2 });
      expect(s.context.members[B]).toBeUndefined();
      expect(s.context.banned).toEqual({});
    });

    it('kicks without banning: the peer may join again', () => {
      let s = send(hostRoom(), join(B, 'open'));
      s = send(s, remove(B, false));
      expect(s.context.members[B]).toBeUndefined();
      expect(accepts(s, join(B, 'open'))).toBe(true);
    });

    it('bans: the peer is removed and refused afterwards', () => {
      let s = send(hostRoom(), join(B, 'open'));
      s = send(s, remove(B, true));
      expect(s.context.members[B]).toBeUndefined();
      expect(s.context.banned).toEqual({ [B]: T2 });
      expect(joinRefusal(s.context, B, 'open', undefined, T3)).toBe('banned');
      expectRefused(s, join(B, 'open'));
    });

    it('bans a peer that is not a member yet (and refuses its join)', () => {
      const s = send(hostRoom(), remove(C, true));
      expect(s.context.banned[C]).toBe(T2);
      expectRefused(s, join(C, 'open'));
    });

    it('refuses to remove a stranger without a ban, or a member twice', () => {
      expectRefused(hostRoom(), remove(C, false));
      expectRefused(hostRoom(), { type: 'member.leave', peerId: C, at: T2 });
    });

    it('never removes the owner (leave, kick or ban)', () => {
      const s = send(hostRoom(), join(B, 'open'));
      expectRefused(s, { type: 'member.leave', peerId: HOST, at: T2 });
      expectRefused(s, remove(HOST, false));
      expectRefused(s, remove(HOST, true));
    });

    it('drops a pending request when that peer is removed', () => {
      let s = hostRoom({ policy: 'approval' });
      const { role: _r, ...m } = aMember(B);
      s = send(s, { type: 'member.request', member: m, at: T1 });
      s = send(s, remove(B, false));
      expect(s.context.pending).toEqual({});
    });
  });

  describe('roles', () => {
    const role = (peerId: string, r: 'admin' | 'member'): RoomEvent => ({
      type: 'member.role',
      peerId,
      role: r,
      by: HOST,
      at: T2,
    });

    it('changes the role of a member', () => {
      let s = send(hostRoom(), join(B, 'open'));
      s = send(s, role(B, 'admin'));
      expect(s.context.members[B]?.role).toBe('admin');
      s = send(s, role(B, 'member'));
      expect(s.context.members[B]?.role).toBe('member');
    });

    it('refuses to change the owner role or the role of a non-member', () => {
      const s = send(hostRoom(), join(B, 'open'));
      expectRefused(s, role(HOST, 'member'));
      expectRefused(s, role(C, 'admin'));
    });
  });

  describe('epochs and sequence', () => {
    const advance = (epoch: number, mandatory = false, at = T1): RoomEvent => ({
      type: 'epoch.advance',
      epoch,
      reason: 'test',
      mandatory,
      at,
    });

    it('advances the epoch only to epoch + 1', () => {
      let s = hostRoom();
      expectRefused(s, advance(1));
      expectRefused(s, advance(3));
      expectRefused(s, advance(0));
      s = send(s, advance(2));
      expect(s.context.epoch).toBe(2);
      s = send(s, advance(3));
      expect(s.context.epoch).toBe(3);
    });

    it('sequences messages only at seq + 1: no gaps, no duplicates', () => {
      let s = hostRoom();
      expectRefused(s, msg('message.sequence', 2));
      expectRefused(s, msg('message.sequence', 0));
      s = send(s, msg('message.sequence', 1));
      expect(s.context.seq).toBe(1);
      expectRefused(s, msg('message.sequence', 1));
      expectRefused(s, msg('message.sequence', 3));
      s = send(s, msg('message.sequence', 2));
      expect(s.context.seq).toBe(2);
    });

    it('counts messages of the current epoch and restarts the count on a new epoch', () => {
      let s = hostRoom();
      expect(s.context).toMatchObject({ epochMessages: 0, epochStartedAt: T0, minSendEpoch: 1 });
      s = run(s, [msg('message.sequence', 1), msg('message.sequence', 2)]);
      expect(s.context.epochMessages).toBe(2);
      s = send(s, advance(2, false, T2));
      expect(s.context).toMatchObject({ epochMessages: 0, epochStartedAt: T2 });
      // A late message of the old epoch is sequenced but does not count toward the new one.
      s = send(s, msg('message.sequence', 3));
      expect(s.context).toMatchObject({ seq: 3, epochMessages: 0 });
    });

    it('keeps the previous epoch sendable after a routine rotation, not after a mandatory one', () => {
      const routine = send(hostRoom(), advance(2, false));
      expect(routine.context.minSendEpoch).toBe(1);
      const mandatory = send(hostRoom(), advance(2, true));
      expect(mandatory.context.minSendEpoch).toBe(2);
    });
  });

  it('deletes the room (final) on the host side only', () => {
    const s = send(hostRoom(), { type: 'room.deleted', at: T2 });
    expect(s.value).toBe('deleted');
    expect(s.status).toBe('done');
    expectRefused(memberRoom(), { type: 'room.deleted', at: T2 });
  });

  it('moves a host epoch only through epoch.advance and its seq only through message.sequence', () => {
    const s = hostRoom();
    expectRefused(s, { type: 'epoch.learn', epoch: 7, at: T1 });
    expectRefused(s, msg('message.receive', 1));
  });

  it('does not react to member-side events on the host side', () => {
    const s = hostRoom();
    expectRefused(s, { type: 'members.sync', members: [aMember(HOST, 'owner')], at: T1 });
    expectRefused(s, { type: 'room.left', reason: 'kicked', at: T1 });
    expectRefused(s, joined());
  });
});

describe('room machine: member side', () => {
  it('takes seq, epoch, members and the room facts from room.joined', () => {
    const s = memberRoom();
    expect(s.value).toBe('active');
    expect(s.context).toMatchObject({
      isHost: false,
      self: B,
      seq: 7,
      epoch: 3,
      host: HOST,
      policy: 'open',
      hostUrls: ['http://10.0.0.1:7000'],
      removedReason: null,
    });
    expect(Object.keys(s.context.members).sort()).toEqual([HOST, B]);
  });

  it('receives messages only contiguously after the join sequence', () => {
    let s = memberRoom();
    expectRefused(s, msg('message.receive', 7));
    expectRefused(s, msg('message.receive', 9));
    s = send(s, msg('message.receive', 8));
    expect(s.context.seq).toBe(8);
    expectRefused(s, msg('message.receive', 8));
    s = send(s, msg('message.receive', 9));
    expect(s.context.seq).toBe(9);
  });

  it('replaces its member list on members.sync', () => {
    const s = send(memberRoom(), {
      type: 'members.sync',
      members: [aMember(HOST, 'owner'), aMember(B), aMember(C, 'admin')],
      at: T2,
    });
    expect(Object.keys(s.context.members).sort()).toEqual([HOST, B, C]);
    expect(s.context.members[C]?.role).toBe('admin');
  });

  it('learns only later epochs (may skip ahead, never goes back)', () => {
    let s = memberRoom();
    expectRefused(s, { type: 'epoch.learn', epoch: 3, at: T2 });
    expectRefused(s, { type: 'epoch.learn', epoch: 2, at: T2 });
    s = send(s, { type: 'epoch.learn', epoch: 5, at: T2 });
    expect(s.context.epoch).toBe(5);
  });

  it('goes to left with the reason on room.left', () => {
    const s = send(memberRoom(), { type: 'room.left', reason: 'kicked', at: T2 });
    expect(s.value).toBe('left');
    expect(s.context.removedReason).toBe('kicked');
    expectRefused(s, msg('message.receive', 8));
  });

  it('rejoins from left, clearing the removal reason', () => {
    let s = send(memberRoom(), { type: 'room.left', reason: 'left', at: T2 });
    s = send(s, joined({ seq: 12, epoch: 6, at: T3 }));
    expect(s.value).toBe('active');
    expect(s.context).toMatchObject({ seq: 12, epoch: 6, removedReason: null });
  });

  it('waits in pending, then becomes active when admitted, or left when refused', () => {
    const pending: RoomEvent = {
      type: 'room.pending',
      room: anInfo({ policy: 'approval' }),
      hostUrls: ['http://10.0.0.1:7000'],
      at: T1,
    };
    const p = send(fresh(B), pending);
    expect(p.value).toBe('pending');
    expect(p.context).toMatchObject({ isHost: false, policy: 'approval', host: HOST });
    expect(send(p, joined()).value).toBe('active');
    expect(send(p, { type: 'room.left', reason: 'deleted', at: T2 }).value).toBe('left');
    expect(send(send(p, { type: 'room.left', reason: 'left', at: T2 }), pending).value).toBe(
      'pending',
    );
  });
});

describe('room machine: restore', () => {
  const restoreOf = (s: Snap): Snap => {
    const ctx: RoomContext = s.context;
    return initialTransition(roomMachine, {
      stream: STREAM,
      restore: { ...ctx, state: s.value as RoomStateName },
    })[0];
  };

  const cases: Record<Exclude<RoomStateName, 'new'>, () => Snap> = {
    active: () =>
      run(hostRoom({ policy: 'invite' }), [
        invite('1'.repeat(64), T3),
        join(B, 'invite', { inviteHash: '1'.repeat(64) }),
        msg('message.sequence', 1),
        { type: 'epoch.advance', epoch: 2, reason: 'rotate', mandatory: true, at: T2 },
        { type: 'member.remove', peerId: C, by: HOST, ban: true, at: T2 },
      ]),
    pending: () =>
      send(fresh(B), {
        type: 'room.pending',
        room: anInfo({ policy: 'approval' }),
        hostUrls: [],
        at: T1,
      }),
    left: () => send(memberRoom(), { type: 'room.left', reason: 'banned', at: T2 }),
    deleted: () => send(hostRoom(), { type: 'room.deleted', at: T2 }),
  };

  for (const [state, build] of Object.entries(cases)) {
    it(`lands in ${state} with the same context when restored from a ${state} room`, () => {
      const before = build();
      expect(before.value).toBe(state);
      const after = restoreOf(before);
      expect(after.value).toBe(state);
      expect(after.status).toBe(before.status);
      const { state: _state, ...ctx } = after.context as RoomContext & { state?: unknown };
      expect({ ...ctx, restoredState: null }).toEqual(before.context);
      expect(after.context.restoredState).toBe(state);
    });
  }

  it('restores a context with exactly the RoomContext fields (no stray restore `state`)', () => {
    const after = restoreOf(cases.active());
    expect(Object.keys(after.context)).not.toContain('state');
  });

  it('keeps working after a restore (next seq, next epoch, refusals)', () => {
    let s = restoreOf(cases.active());
    expectRefused(s, msg('message.sequence', 1));
    expectRefused(s, join(C, 'open'));
    s = run(s, [
      msg('message.sequence', 2),
      { type: 'epoch.advance', epoch: 3, reason: 'r', mandatory: false, at: T3 },
    ]);
    expect(s.context).toMatchObject({ seq: 2, epoch: 3 });
  });

  it('restores a member room that can rejoin from left', () => {
    const s = restoreOf(cases.left());
    expect(send(s, joined({ seq: 20 })).context.seq).toBe(20);
  });
});

describe('room machine: properties', () => {
  const peers = [B, C, D, peer(5), peer(6), peer(7)];
  const eventArb = (): fc.Arbitrary<RoomEvent> => {
    const p = fc.constantFrom(...peers, HOST);
    const at = fc.constantFrom(T0, T1, T2, T3);
    return fc.oneof(
      fc
        .record({
          p,
          via: fc.constantFrom('open' as const, 'approval' as const, 'owner' as const),
          at,
        })
        .map(({ p: id, via, at: t }) => join(id, via, { at: t })),
      fc.record({ p, at }).map(({ p: id, at: t }): RoomEvent => {
        const { role: _r, ...m } = aMember(id);
        return { type: 'member.request', member: m, at: t };
      }),
      fc.record({ p, at }).map(({ p: id, at: t }): RoomEvent => ({
        type: 'member.approve',
        peerId: id,
        by: HOST,
        at: t,
      })),
      fc
        .record({ p, at })
        .map(({ p: id, at: t }): RoomEvent => ({ type: 'member.leave', peerId: id, at: t })),
      fc.record({ p, ban: fc.boolean(), at }).map(({ p: id, ban, at: t }): RoomEvent => ({
        type: 'member.remove',
        peerId: id,
        by: HOST,
        ban,
        at: t,
      })),
      fc
        .record({ seq: fc.integer({ min: -1, max: 12 }), sequence: fc.boolean() })
        .map(({ seq, sequence }) => msg(sequence ? 'message.sequence' : 'message.receive', seq)),
      fc.integer({ min: 0, max: 6 }).map((epoch): RoomEvent => ({
        type: 'epoch.advance',
        epoch,
        reason: 'p',
        mandatory: false,
        at: T1,
      })),
      fc.constant<RoomEvent>({
        type: 'members.sync',
        members: peers.map((id) => aMember(id)),
        at: T1,
      }),
    );
  };

  it('never lets the member count exceed capacity, and seq counts the accepted messages', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom('open' as const, 'approval' as const),
        fc.array(eventArb(), { maxLength: 80 }),
        (capacity, policy, events) => {
          let s = hostRoom({ capacity, policy });
          let acceptedMessages = 0;
          for (const ev of events) {
            const next = send(s, ev);
            if (next !== s && (ev.type === 'message.sequence' || ev.type === 'message.receive'))
              acceptedMessages++;
            s = next;
            expect(memberCount(s)).toBeLessThanOrEqual(capacity);
            expect(s.context.members[HOST]?.role).toBe('owner');
            expect(s.context.seq).toBe(acceptedMessages);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
