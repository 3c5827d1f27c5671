import { describe, expect, it } from 'vitest';
import { createActor, type ActorRefFrom } from 'xstate';
import { createLogWriter } from '../../src/actors/log-writer.js';
import { createRecorder } from '../../src/actors/recorder.js';
import { restoreRooms, streamOf } from '../../src/actors/rooms/room-handle.js';
import { createRoomKeys } from '../../src/actors/rooms/room-keys.js';
import { hashRoomPassword } from '../../src/crypto/room-credentials.js';
import { generateMemberKek, generateRoomKey } from '../../src/crypto/room-epoch-key.js';
import { createMemoryKeystore } from '../../src/keystore/memory-keystore.js';
import { ROOM_MACHINE_VERSION, roomMachine } from '../../src/machines/room.machine.js';
import type { RoomEvent, RoomInfo, RoomInput, RoomMember } from '../../src/machines/room.types.js';
import type { Envelope } from '../../src/protocol/room.codec.js';
import type { EventMeta, EventStore, NewEvent } from '../../src/store/event-store.js';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';

const ROOM = 'room_0123456789abcdef';
const OTHER_ROOM = 'room_fedcba9876543210';
const HOST = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const T0 = '2030-01-01T00:00:00.000Z';
const T1 = '2030-01-01T00:01:00.000Z';
const T2 = '2030-01-01T00:02:00.000Z';
const T9 = '2030-01-09T00:00:00.000Z';
const INVITE = '1'.repeat(64);

type RoomActor = ActorRefFrom<typeof roomMachine>;

const aMember = (peerId: string, role: RoomMember['role'] = 'member'): RoomMember => ({
  peerId,
  name: `n-${peerId.slice(0, 4)}`,
  role,
  kind: 'ed25519',
  publicKey: `pk-${peerId.slice(0, 8)}`,
  joinedAt: T0,
});

const anInfo = (overrides: Partial<RoomInfo> = {}): RoomInfo => ({
  roomId: ROOM,
  name: 'ops',
  topic: 'on call',
  policy: 'invite',
  capacity: 3,
  suite: 'aes-256-gcm',
  host: HOST,
  hostName: 'alice',
  rotation: { everyMessages: 100, everyMinutes: null, keepEpochs: 2 },
  ...overrides,
});

const envelope = (seq: number, sender: string, epoch = 1, roomId = ROOM): Envelope => ({
  roomId,
  id: `msg_${String(seq).padStart(8, '0')}`,
  sender,
  epoch,
  sentAt: T1,
  suite: 'aes-256-gcm',
  ct: Buffer.alloc(48, seq).toString('base64url'),
  sig: Buffer.alloc(64, seq + 1).toString('base64url'),
});

const msgEvent = (
  type: 'message.sequence' | 'message.receive',
  seq: number,
  env: Envelope,
): RoomEvent => {
  const { roomId: _r, ...facts } = env;
  return { type, seq, ...facts, at: T1 };
};

/** Actors that record every accepted transition into `store`, the way the runtime does. */
function recording(store: EventStore) {
  const writer = createLogWriter({}, { store });
  const recorder = createRecorder({
    record: (stream, event) => writer.enqueue(stream, event),
    now: () => new Date(T2),
    machineVersions: { room: ROOM_MACHINE_VERSION },
  });
  return {
    start: (input: RoomInput): RoomActor =>
      createActor(roomMachine, { input, inspect: recorder }).start(),
    flush: () => writer.flush(),
  };
}

const hostEvents: RoomEvent[] = [
  { type: 'room.created', owner: aMember(HOST, 'owner'), at: T0, ...anInfo() },
  { type: 'invite.create', hash: INVITE, expiresAt: T9, by: HOST, at: T0 },
  { type: 'member.join', member: aMember(B), via: 'invite', inviteHash: INVITE, at: T1 },
  msgEvent('message.sequence', 1, envelope(1, HOST)),
  msgEvent('message.sequence', 2, envelope(2, B)),
  { type: 'member.role', peerId: B, role: 'admin', by: HOST, at: T1 },
  { type: 'member.remove', peerId: B, by: HOST, ban: true, at: T2 },
  { type: 'epoch.advance', epoch: 2, reason: 'removal', mandatory: true, at: T2 },
  msgEvent('message.sequence', 3, envelope(3, HOST, 2)),
];

/** Events the machine refuses: they must leave no record. */
const refusedEvents: RoomEvent[] = [
  msgEvent('message.sequence', 3, envelope(3, HOST, 2)),
  { type: 'member.join', member: aMember(B), via: 'open', at: T2 },
  { type: 'epoch.advance', epoch: 9, reason: 'skip', mandatory: false, at: T2 },
];

/** The context without what only a restore adds (`restoredState`, the stray `state`). */
function comparable(ctx: object): object {
  const {
    restoredState: _rs,
    state: _st,
    ...rest
  } = ctx as {
    restoredState?: unknown;
    state?: unknown;
  };
  return rest;
}

async function recordedHostRoom() {
  const store = createMemoryEventStore();
  const rec = recording(store);
  const actor = rec.start({ stream: streamOf(ROOM), roomId: ROOM, self: HOST });
  for (const ev of hostEvents) actor.send(ev);
  for (const ev of refusedEvents) actor.send(ev);
  await rec.flush();
  return { store, actor, rec };
}

/** A record written by hand, as a recorder of `meta.machineVersion` would have. */
const data = (e: RoomEvent | { type: 'xstate.init'; input: RoomInput }) =>
  JSON.parse(JSON.stringify(e)) as Record<string, unknown>;

/** The `xstate.init` record of a host's room stream. */
const initRecord = (meta: EventMeta): NewEvent => ({
  type: 'xstate.init',
  data: data({ type: 'xstate.init', input: { stream: streamOf(ROOM), roomId: ROOM, self: HOST } }),
  meta,
});

describe('restoreRooms', () => {
  it('records one event per accepted transition, plus the init', async () => {
    const { store } = await recordedHostRoom();
    const events = await store.readStream(streamOf(ROOM));
    expect(events.map((e) => e.type)).toEqual(['xstate.init', ...hostEvents.map((e) => e.type)]);
    expect(events.every((e) => e.meta.machine === 'room')).toBe(true);
    expect(events.at(-1)?.meta).toMatchObject({ from: 'active', to: 'active' });
  });

  it('folds a host stream to the same context, state and messages', async () => {
    const { store, actor } = await recordedHostRoom();
    const rooms = await restoreRooms(store);
    expect(rooms).toHaveLength(1);
    const [room] = rooms;
    expect(room?.roomId).toBe(ROOM);
    const snap = actor.getSnapshot();
    expect(room?.input).toEqual({
      stream: streamOf(ROOM),
      restore: { ...snap.context, state: 'active' },
    });
    expect(room?.messages).toEqual([
      { seq: 1, env: envelope(1, HOST) },
      { seq: 2, env: envelope(2, B) },
      { seq: 3, env: envelope(3, HOST, 2) },
    ]);
    // B was banned, but its key stays known: it signed message 2.
    expect(room?.members.map((m) => m.peerId).sort()).toEqual([HOST, B]);
    expect(snap.context.members[B]).toBeUndefined();
  });

  it('starts a restored actor in the same state with the same context', async () => {
    const { store, actor } = await recordedHostRoom();
    const [room] = await restoreRooms(store);
    const restored = createActor(roomMachine, { input: room!.input }).start();
    const before = actor.getSnapshot();
    const after = restored.getSnapshot();
    expect(after.value).toBe(before.value);
    expect(after.status).toBe('active');
    expect(comparable(after.context)).toEqual(comparable(before.context));
    expect(after.context.restoredState).toBe('active');
    // It goes on where the original stopped: the next seq and epoch, the ban and the used invite.
    restored.send(msgEvent('message.sequence', 3, envelope(3, HOST, 2)));
    expect(restored.getSnapshot().context.seq).toBe(3);
    restored.send(msgEvent('message.sequence', 4, envelope(4, HOST, 2)));
    expect(restored.getSnapshot().context.seq).toBe(4);
    restored.send({
      type: 'member.join',
      member: aMember(B),
      via: 'invite',
      inviteHash: INVITE,
      at: T2,
    });
    restored.send({
      type: 'member.join',
      member: aMember(C),
      via: 'invite',
      inviteHash: INVITE,
      at: T2,
    });
    expect(Object.keys(restored.getSnapshot().context.members)).toEqual([HOST]);
    restored.stop();
  });

  it('folds a stream that was itself restored (two restarts) with every message', async () => {
    const { store } = await recordedHostRoom();
    const [first] = await restoreRooms(store);
    const rec = recording(store);
    const second = rec.start(first!.input);
    second.send(msgEvent('message.sequence', 4, envelope(4, HOST, 2)));
    second.send({ type: 'member.join', member: aMember(C), via: 'open', at: T2 });
    second.send({ type: 'invite.create', hash: '2'.repeat(64), expiresAt: T9, by: HOST, at: T2 });
    second.send({
      type: 'member.join',
      member: aMember(C),
      via: 'invite',
      inviteHash: '2'.repeat(64),
      at: T2,
    });
    await rec.flush();
    const [again] = await restoreRooms(store);
    const snap = second.getSnapshot();
    expect(again?.input).toEqual({
      stream: streamOf(ROOM),
      restore: { ...snap.context, state: 'active' },
    });
    expect(again?.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(again?.members.map((m) => m.peerId).sort()).toEqual([HOST, B, C]);
    const third = createActor(roomMachine, { input: again!.input }).start();
    expect(comparable(third.getSnapshot().context)).toEqual(comparable(snap.context));
    third.stop();
  });

  it('restores a member room: left state, received messages and the last member list', async () => {
    const store = createMemoryEventStore();
    const rec = recording(store);
    const actor = rec.start({ stream: streamOf(ROOM), roomId: ROOM, self: B });
    actor.send({
      type: 'room.joined',
      room: anInfo(),
      members: [aMember(HOST, 'owner'), aMember(B)],
      epoch: 2,
      seq: 5,
      hostUrls: ['http://10.0.0.1:7000'],
      at: T1,
    });
    actor.send(msgEvent('message.receive', 6, envelope(6, HOST, 2)));
    actor.send(msgEvent('message.receive', 8, envelope(8, HOST, 2))); // a gap: refused
    actor.send(msgEvent('message.receive', 7, envelope(7, B, 2)));
    actor.send({
      type: 'members.sync',
      members: [aMember(HOST, 'owner'), aMember(B), aMember(C)],
      at: T1,
    });
    actor.send({ type: 'epoch.learn', epoch: 4, at: T1 });
    actor.send({ type: 'room.left', reason: 'kicked', at: T2 });
    await rec.flush();
    const [room] = await restoreRooms(store);
    const snap = actor.getSnapshot();
    expect(snap.value).toBe('left');
    expect(room?.input).toEqual({
      stream: streamOf(ROOM),
      restore: { ...snap.context, state: 'left' },
    });
    expect(room?.messages.map((m) => m.seq)).toEqual([6, 7]);
    const restored = createActor(roomMachine, { input: room!.input }).start();
    expect(restored.getSnapshot().value).toBe('left');
    expect(restored.getSnapshot().context).toMatchObject({
      seq: 7,
      epoch: 4,
      removedReason: 'kicked',
      isHost: false,
    });
    restored.stop();
  });

  it('restores pending and deleted rooms, and keeps rooms apart', async () => {
    const store = createMemoryEventStore();
    const rec = recording(store);
    const pending = rec.start({ stream: streamOf(OTHER_ROOM), roomId: OTHER_ROOM, self: B });
    pending.send({
      type: 'room.pending',
      room: anInfo({ roomId: OTHER_ROOM, policy: 'approval' }),
      hostUrls: [],
      at: T1,
    });
    const deleted = rec.start({ stream: streamOf(ROOM), roomId: ROOM, self: HOST });
    deleted.send({ type: 'room.created', owner: aMember(HOST, 'owner'), at: T0, ...anInfo() });
    deleted.send({ type: 'room.deleted', at: T2 });
    await rec.flush();
    const rooms = await restoreRooms(store);
    const byId = new Map(rooms.map((r) => [r.roomId, r]));
    expect([...byId.keys()].sort()).toEqual([ROOM, OTHER_ROOM]);
    for (const [id, want, actor] of [
      [OTHER_ROOM, 'pending', pending],
      [ROOM, 'deleted', deleted],
    ] as const) {
      const input = byId.get(id)!.input;
      expect(input).toMatchObject({ stream: streamOf(id), restore: { state: want, roomId: id } });
      const restored = createActor(roomMachine, { input }).start();
      expect(restored.getSnapshot().value).toBe(want);
      expect(comparable(restored.getSnapshot().context)).toEqual(
        comparable(actor.getSnapshot().context),
      );
      restored.stop();
    }
  });

  it('folds hand-written records with meta.machine room and skips those of other machines', async () => {
    const store = createMemoryEventStore();
    const meta = { recordedAt: T2, machine: 'room', machineVersion: ROOM_MACHINE_VERSION };
    await store.append(streamOf(ROOM), [
      initRecord(meta),
      { type: 'room.created', data: data(hostEvents[0]!), meta },
      // Another machine's record in the same stream (e.g. a rotation note): not a room event.
      {
        type: 'member.join',
        data: data({ type: 'member.join', member: aMember(B), via: 'open', at: T1 }),
        meta: { ...meta, machine: 'rotation' },
      },
      {
        type: 'message.sequence',
        data: data(msgEvent('message.sequence', 1, envelope(1, HOST))),
        meta,
      },
    ]);
    // A stream whose init was never recorded is not a room to restore.
    await store.append(streamOf(OTHER_ROOM), [
      { type: 'room.deleted', data: data({ type: 'room.deleted', at: T2 }), meta },
    ]);
    const rooms = await restoreRooms(store);
    expect(rooms.map((r) => r.roomId)).toEqual([ROOM]);
    const restore = (rooms[0]!.input as Extract<RoomInput, { restore: unknown }>).restore;
    expect(restore.state).toBe('active');
    expect(Object.keys(restore.members)).toEqual([HOST]);
    expect(restore.seq).toBe(1);
    expect(rooms[0]!.messages).toEqual([{ seq: 1, env: envelope(1, HOST) }]);
  });

  it('restores a member a version-1 host approved more than a day after it asked', async () => {
    // Before requests expired (room machine 1), an approval could come at any time: a log from
    // then must restore the member it admitted, or it vanishes from the room after an upgrade.
    const store = createMemoryEventStore();
    const meta = { recordedAt: T2, machine: 'room', machineVersion: 1 };
    const request: RoomEvent = { type: 'member.request', member: aMember(B), at: T0 };
    const approve: RoomEvent = { type: 'member.approve', peerId: B, by: HOST, at: T9 };
    await store.append(streamOf(ROOM), [
      initRecord(meta),
      {
        type: 'room.created',
        data: data({ ...(hostEvents[0] as RoomEvent), policy: 'approval' } as RoomEvent),
        meta,
      },
      { type: 'member.request', data: data(request), meta },
      { type: 'member.approve', data: data(approve), meta },
    ]);
    const [room] = await restoreRooms(store);
    const restore = (room!.input as Extract<RoomInput, { restore: unknown }>).restore;
    expect(Object.keys(restore.members).sort()).toEqual([HOST, B].sort());
    expect(restore.pending).toEqual({});
  });

  it('returns nothing for an empty log', async () => {
    await expect(restoreRooms(createMemoryEventStore())).resolves.toEqual([]);
  });

  it('restores a member list longer than 1 000 (room.joined of a large room)', async () => {
    const store = createMemoryEventStore();
    const rec = recording(store);
    const actor = rec.start({ stream: streamOf(ROOM), roomId: ROOM, self: B });
    const members = Array.from({ length: 1_200 }, (_, i) =>
      aMember(i.toString(16).padStart(64, '0')),
    );
    actor.send({
      type: 'room.joined',
      room: anInfo({ capacity: 5_000 }),
      members,
      epoch: 1,
      seq: 0,
      hostUrls: [],
      at: T1,
    });
    await rec.flush();
    const [room] = await restoreRooms(store);
    expect(Object.keys(actor.getSnapshot().context.members)).toHaveLength(1_200);
    const restore = (room!.input as Extract<RoomInput, { restore: unknown }>).restore;
    expect(Object.keys(restore.members)).toHaveLength(1_200);
  });
});

describe('room keys', () => {
  const PW = 'scrypt$15$8$1$c2FsdA$aGFzaA';

  it('round-trips epoch keys, KEKs and the password through the keystore', async () => {
    const keystore = createMemoryKeystore();
    const before = createRoomKeys(keystore);
    const epoch1 = generateRoomKey();
    await before.putEpoch(ROOM, 1, Buffer.from(epoch1));
    await before.newEpoch(ROOM, 2);
    await before.newEpoch(OTHER_ROOM, 1);
    // This peer is also a member of a room hosted elsewhere: its own KEK is the host's for it.
    const host = createRoomKeys(createMemoryKeystore());
    await host.putEpoch(ROOM, 3, generateRoomKey());
    await before.setOwnKek(ROOM, Buffer.from(await host.hostKek(ROOM, C)));
    const hostKek = await before.hostKek(ROOM, B);
    await before.setPassword(ROOM, PW);
    expect(before.epochs(ROOM)).toEqual([1, 2]);
    expect(await keystore.listSecrets(`room.${ROOM}.`)).toEqual(
      [
        `room.${ROOM}.e.1`,
        `room.${ROOM}.e.2`,
        `room.${ROOM}.k.${B.slice(0, 32)}`,
        `room.${ROOM}.kek`,
        `room.${ROOM}.pw`,
      ].sort(),
    );

    const after = createRoomKeys(keystore);
    expect(after.hasEpoch(ROOM, 1)).toBe(false);
    await after.load([ROOM]);
    expect(after.epochs(ROOM)).toEqual([1, 2]);
    expect(after.epochs(OTHER_ROOM)).toEqual([]);
    expect((await after.hostKek(ROOM, B)).equals(hostKek)).toBe(true);
    expect(await after.password(ROOM)).toBe(PW);

    // The loaded keys are the same keys: a message sealed before opens after, in both epochs.
    for (const epoch of [1, 2]) {
      const h = {
        roomId: ROOM,
        epoch,
        sender: B,
        id: 'msg_00000001',
        sentAt: T1,
        suite: 'aes-256-gcm' as const,
      };
      const sealed = before.cipher(ROOM, epoch, B, 'aes-256-gcm').seal(h, Buffer.from('hi'));
      expect(after.cipher(ROOM, epoch, B, 'aes-256-gcm').open(h, sealed).toString()).toBe('hi');
    }

    // The own KEK came back too: it opens what the host wraps for this member.
    expect(await after.acceptWrapped(ROOM, 3, C, await host.wrapFor(ROOM, 3, C))).toBe(true);
    expect(after.epochs(ROOM)).toEqual([1, 2, 3]);
  });

  it('delivers an epoch key from host to member with the shared KEK', async () => {
    const host = createRoomKeys(createMemoryKeystore());
    const memberStore = createMemoryKeystore();
    const member = createRoomKeys(memberStore);
    await host.newEpoch(ROOM, 1);
    await member.setOwnKek(ROOM, await host.hostKek(ROOM, B));
    const wrapped = await host.wrapFor(ROOM, 1, B);
    expect(await member.acceptWrapped(ROOM, 1, B, wrapped)).toBe(true);
    expect(member.hasEpoch(ROOM, 1)).toBe(true);
    expect(await memberStore.listSecrets(`room.${ROOM}.e.`)).toEqual([`room.${ROOM}.e.1`]);
    const h = {
      roomId: ROOM,
      epoch: 1,
      sender: B,
      id: 'msg_00000001',
      sentAt: T1,
      suite: 'aes-256-cbc-hmac-sha256' as const,
    };
    const sealed = member.cipher(ROOM, 1, B, h.suite).seal(h, Buffer.from('from b'));
    expect(host.cipher(ROOM, 1, B, h.suite).open(h, sealed).toString()).toBe('from b');
  });

  it('refuses a wrapped key under the wrong KEK, for another member, or garbage', async () => {
    const host = createRoomKeys(createMemoryKeystore());
    await host.newEpoch(ROOM, 1);
    await host.hostKek(ROOM, B);
    const wrapped = await host.wrapFor(ROOM, 1, B);

    const noKek = createRoomKeys(createMemoryKeystore());
    expect(await noKek.acceptWrapped(ROOM, 1, B, wrapped)).toBe(false);

    const wrongKek = createRoomKeys(createMemoryKeystore());
    await wrongKek.setOwnKek(ROOM, generateMemberKek());
    expect(await wrongKek.acceptWrapped(ROOM, 1, B, wrapped)).toBe(false);
    expect(wrongKek.hasEpoch(ROOM, 1)).toBe(false);
    expect(() => wrongKek.cipher(ROOM, 1, B, 'aes-256-gcm')).toThrow(
      expect.objectContaining({ code: 'ERR_MISSING_KEY' }),
    );

    const other = createRoomKeys(createMemoryKeystore());
    await other.setOwnKek(ROOM, await host.hostKek(ROOM, B));
    expect(await other.acceptWrapped(ROOM, 1, C, wrapped)).toBe(false);
    expect(await other.acceptWrapped(ROOM, 2, B, wrapped)).toBe(false);
    expect(await other.acceptWrapped(ROOM, 1, B, 'not-a-wrapped-key')).toBe(false);
    expect(await other.acceptWrapped(ROOM, 1, B, '')).toBe(false);
    expect(other.epochs(ROOM)).toEqual([]);
  });

  it('shreds an epoch key from memory and from the keystore', async () => {
    const keystore = createMemoryKeystore();
    const keys = createRoomKeys(keystore);
    await keys.newEpoch(ROOM, 1);
    await keys.newEpoch(ROOM, 2);
    keys.cipher(ROOM, 1, B, 'aes-256-gcm');
    await keys.shred(ROOM, 1);
    expect(keys.epochs(ROOM)).toEqual([2]);
    expect(() => keys.cipher(ROOM, 1, B, 'aes-256-gcm')).toThrow(
      expect.objectContaining({ code: 'ERR_MISSING_KEY' }),
    );
    const reloaded = createRoomKeys(keystore);
    await reloaded.load([ROOM]);
    expect(reloaded.epochs(ROOM)).toEqual([2]);
  });

  it('forgets a member KEK on dropKek', async () => {
    const keystore = createMemoryKeystore();
    const keys = createRoomKeys(keystore);
    const first = Buffer.from(await keys.hostKek(ROOM, B));
    await keys.dropKek(ROOM, B);
    expect(await keystore.listSecrets(`room.${ROOM}.k.`)).toEqual([]);
    expect((await keys.hostKek(ROOM, B)).equals(first)).toBe(false);
  });

  it('keeps the password hash usable for verification after a reload', async () => {
    const keystore = createMemoryKeystore();
    const stored = await hashRoomPassword('hunter2');
    await createRoomKeys(keystore).setPassword(ROOM, stored);
    expect(await createRoomKeys(keystore).password(ROOM)).toBe(stored);
    expect(await createRoomKeys(keystore).password(OTHER_ROOM)).toBeUndefined();
  });
});
