/**
 * Rooms on this peer, as the local API and the session layer see them: one actor per room (host
 * or member side), local commands (create, join, leave, invite, kick, approve, rotate, send,
 * read), the room requests and pushes other peers send us over sessions, and the restart path
 * that rebuilds every room from its recorded stream and its keys from the keystore.
 */
import { AppError } from '../../errors.js';
import { SignatureDomains, verify } from '../../crypto/signature.js';
import type { RoomContext, RoomPolicy, RoomSuite } from '../../machines/room.types.js';
import {
  decodeInvite,
  decodeWith,
  RoomPushSchema,
  decodeRoomFrame,
  type AdvertisedRoomLike,
} from '../../protocol/room.codec.js';
import type { InnerPush, InnerRequest, InnerResponse } from '../../protocol/sealed.codec.js';
import { dispatchRoomRequest } from './room-requests.js';
import { resolvePeerId } from '../peer-directory.js';
import { ctxOf, messagesAfter, stateOf, type RoomHandle } from './room-handle.js';
import { restoreRooms, addMessage } from './room-handle.js';
import { createRoomHost } from './room-host.js';
import type { CreateRoomOptions } from './room-host.types.js';
import { createRoomKeys } from './room-keys.js';
import { createRotations, type RotationView } from './rotations.js';
import { createRoomMember, type SendResult } from './room-member.js';
import { createRoomsCore, type MessageView, type RoomsDeps } from './rooms-core.js';

export type { RoomsDeps, MessageView } from './rooms-core.js';
export type { RoomView, MemberView } from './room-views.js';
import { discoveredRooms, roomView, type MemberView, type RoomView } from './room-views.js';

export interface Rooms {
  list(): RoomView[];
  create(o: {
    name: string;
    topic?: string;
    policy?: RoomPolicy;
    password?: string;
    capacity?: number;
    suite?: RoomSuite;
    rotation?: { everyMessages?: number; everyMinutes?: number; keepEpochs?: number };
  }): Promise<RoomView>;
  join(
    ref: string,
    auth: { password?: string; invite?: string },
  ): Promise<RoomView & { awaitingApproval?: boolean }>;
  leave(ref: string): Promise<void>;
  invite(ref: string): Promise<{ code: string; expiresAt: string }>;
  members(ref: string): MemberView[];
  kick(ref: string, peerId: string, ban: boolean): Promise<void>;
  approve(ref: string, peerId: string): Promise<unknown>;
  setRole(ref: string, peerId: string, role: 'admin' | 'member'): Promise<unknown>;
  rotate(ref: string): Promise<RotationView>;
  send(ref: string, text: string, id?: string): Promise<SendResult>;
  messages(ref: string, after: number, limit: number): MessageView[];
  /** Rooms this peer hosts, for beacons. */
  advertised(): AdvertisedRoomLike[];
  /** A sealed request from a peer whose path is ours (`/rooms/...`), or undefined. */
  handleRequest(from: string, inner: InnerRequest): Promise<InnerResponse> | undefined;
  handlePush(from: string, inner: InnerPush): void;
  /** A room frame on a link (a host-signed batch). */
  handleFrame(from: string, frame: Buffer): void;
  /** A session with `peerId` came up: members catch up with that host. */
  onSession(peerId: string): void;
  /** Rebuild rooms from the log and keystore. */
  restore(): Promise<number>;
  stats(): {
    rooms: number;
    hosted: number;
    messages: number;
    sequenced: number;
    fanout: number;
    rotations: { started: number; committed: number; laggards: number };
    counters: { sent: number; received: number; refused: number };
  };
  close(): void;
}

export function createRooms(deps: RoomsDeps): Rooms {
  const keys = createRoomKeys(deps.keystore);
  const core = createRoomsCore(deps, keys);
  const rotations = createRotations(core, deps.rotation ?? {});
  const host = createRoomHost(core, rotations);
  const member = createRoomMember(core, host);
  const { self } = core;
  const policyTimer = setInterval(() => host.checkPolicies(), 5_000);
  policyTimer.unref();

  const view = (h: RoomHandle): RoomView =>
    roomView(h, self, (id) => rotations.running(id), core.at());
  const discovered = (): Array<RoomView & { urls: readonly string[] }> =>
    discoveredRooms(deps.directory(), core.rooms);

  /** A local room by id or unique name (prefix of the id allowed). */
  function local(ref: string): RoomHandle {
    const direct = core.rooms.get(ref);
    if (direct) return direct;
    const byName = [...core.rooms.values()].filter(
      (h) => ctxOf(h).name === ref && stateOf(h) !== 'deleted',
    );
    if (byName.length === 1) return byName[0] as RoomHandle;
    if (byName.length > 1)
      throw new AppError(
        'ERR_AMBIGUOUS',
        `${byName.length} rooms are named "${ref}"; use the room id`,
      );
    throw new AppError('ERR_NOT_FOUND', `no room "${ref}" on this peer (see conclave room list)`);
  }

  const rooms: Rooms = {
    list: () => [
      ...[...core.rooms.values()].map(view),
      ...discovered().map(({ urls: _u, ...v }) => v),
    ],

    async create(o) {
      const opts: CreateRoomOptions = {
        name: o.name,
        policy: o.policy ?? (o.password !== undefined ? 'password' : 'open'),
        capacity: o.capacity ?? 256,
        suite: o.suite ?? 'aes-256-gcm',
        ...(o.topic !== undefined ? { topic: o.topic } : {}),
        ...(o.password !== undefined ? { password: o.password } : {}),
        ...(o.rotation !== undefined ? { rotation: o.rotation } : {}),
      };
      if (opts.policy !== 'password' && o.password !== undefined)
        throw new AppError('ERR_INVALID_ARGUMENT', 'a password only goes with --policy password');
      return view(await host.create(opts));
    },

    async join(ref, auth) {
      let target: { roomId: string; host: string; urls: readonly string[] } | undefined;
      let invite;
      if (auth.invite !== undefined) {
        const d = decodeInvite(auth.invite);
        if (!d.ok)
          throw new AppError('ERR_INVITE_INVALID', `not an invite code: ${d.error.detail}`);
        invite = d.value;
        if (ref !== '' && ref !== invite.roomId && ref !== invite.roomName && ref !== '-')
          throw new AppError(
            'ERR_INVALID_ARGUMENT',
            `the invite is for room "${invite.roomName}" (${invite.roomId}), not "${ref}"`,
          );
        target = { roomId: invite.roomId, host: invite.host, urls: invite.urls };
      } else {
        const known =
          core.rooms.get(ref) ?? [...core.rooms.values()].find((h) => ctxOf(h).name === ref);
        if (known && !ctxOf(known).isHost) {
          const c = ctxOf(known);
          target = { roomId: known.roomId, host: c.host, urls: c.hostUrls };
        } else if (known)
          throw new AppError(
            'ERR_INVALID_ARGUMENT',
            'this peer hosts that room; it is already in it',
          );
        else {
          const found = discovered().filter((r) => r.roomId === ref || r.name === ref);
          if (found.length > 1)
            throw new AppError(
              'ERR_AMBIGUOUS',
              `${found.length} discovered rooms are named "${ref}"; use the room id`,
            );
          const r = found[0];
          if (!r)
            throw new AppError(
              'ERR_NOT_FOUND',
              `no room "${ref}" is known here; wait for discovery, or join with --invite CODE`,
            );
          target = { roomId: r.roomId, host: r.host, urls: r.urls };
        }
      }
      const out = await member.join(target, {
        ...(auth.password !== undefined ? { password: auth.password } : {}),
        ...(invite ? { invite } : {}),
      });
      if (out === 'pending') {
        const h = core.room(target.roomId);
        return { ...view(h), awaitingApproval: true };
      }
      return view(out);
    },

    async leave(ref) {
      const h = local(ref);
      if (ctxOf(h).isHost) {
        await host.delete(h);
        return;
      }
      await member.leave(h);
    },

    async invite(ref) {
      const h = local(ref);
      const r = ctxOf(h).isHost
        ? await host.admin(self, { roomId: h.roomId, op: 'invite' })
        : await member.admin(h, { op: 'invite' });
      return r as { code: string; expiresAt: string };
    },

    members(ref) {
      const h = local(ref);
      /**
       * The newest epoch a member is known to hold: from its acks (and its grant), never from
       * before its admission (an ack of an earlier membership), else the epoch it was admitted in
       * (a restart keeps no grant; a laggard must not show the room's epoch).
       */
      const memberEpochOf = (c: RoomContext, peerId: string): number => {
        const since = c.admitted[peerId]?.epoch;
        const acked = rotations.memberEpoch(h.roomId, peerId);
        if (since === undefined) return acked ?? c.epoch;
        return Math.max(since, acked ?? since);
      };
      const c = ctxOf(h);
      return Object.values(c.members).map((m) => ({
        peerId: m.peerId,
        name: m.name,
        role: m.role,
        epoch: c.isHost ? memberEpochOf(c, m.peerId) : c.epoch,
        online: m.peerId === self || deps.sessions.isLinkUp(m.peerId),
        joinedAt: m.joinedAt,
      }));
    },

    async kick(ref, peerPrefix, ban) {
      const h = local(ref);
      const c = ctxOf(h);
      const peerId = resolvePeerId(peerPrefix, [
        ...Object.keys(c.members),
        ...Object.keys(c.pending),
      ]);
      if (c.isHost) await host.admin(self, { roomId: h.roomId, op: 'kick', peerId, ban });
      else await member.admin(h, { op: 'kick', peerId, ban });
    },

    async approve(ref, peerPrefix) {
      const h = local(ref);
      const c = ctxOf(h);
      const peerId = resolvePeerId(peerPrefix, Object.keys(c.pending));
      return c.isHost
        ? host.admin(self, { roomId: h.roomId, op: 'approve', peerId })
        : member.admin(h, { op: 'approve', peerId });
    },

    async setRole(ref, peerPrefix, role) {
      const h = local(ref);
      const c = ctxOf(h);
      const peerId = resolvePeerId(peerPrefix, Object.keys(c.members));
      const op = { op: 'role' as const, peerId, role };
      return c.isHost ? host.admin(self, { roomId: h.roomId, ...op }) : member.admin(h, op);
    },

    async rotate(ref) {
      const h = local(ref);
      if (ctxOf(h).isHost) return host.rotateReport(h);
      return (await member.admin(h, { op: 'rotate' })) as RotationView;
    },

    send: (ref, text, id) => member.send(local(ref), text, id),

    messages(ref, after, limit) {
      const h = local(ref);
      if (!ctxOf(h).members[self] && !ctxOf(h).isHost)
        throw new AppError('ERR_NOT_MEMBER', 'this peer is not in that room');
      return messagesAfter(h, after, limit).map((m) => core.viewOf(h, m));
    },

    advertised() {
      return [...core.rooms.values()]
        .filter((h) => ctxOf(h).isHost && stateOf(h) === 'active')
        .map((h) => ({ roomId: h.roomId, name: ctxOf(h).name, policy: ctxOf(h).policy }));
    },

    handleRequest(from, inner) {
      if (!inner.path.startsWith('/rooms/')) return undefined;
      return dispatchRoomRequest(host, core, from, inner);
    },

    handlePush(from, inner) {
      // The one push every member sends per rotation: checked by hand (a 1000-member room acks
      // at once), everything else through the schema.
      if (inner.type === 'room.key-ack') {
        const { roomId, epoch } = inner as { roomId?: unknown; epoch?: unknown };
        const h = typeof roomId === 'string' ? core.rooms.get(roomId) : undefined;
        if (h && ctxOf(h).isHost && ctxOf(h).members[from] && Number.isSafeInteger(epoch))
          rotations.ack(from, h.roomId, epoch as number);
        return;
      }
      const r = decodeWith(RoomPushSchema, inner);
      if (!r.ok) return;
      const push = r.value;
      if (push.type === 'room.send') {
        const roomId = push.env.roomId;
        let answer: Record<string, unknown>;
        let repeated = false;
        try {
          const sequenced = host.sequence(from, push.env);
          answer = { seq: sequenced.seq };
          repeated = sequenced.repeated === true;
        } catch (err) {
          core.counters.refused++;
          const e = err instanceof AppError ? err : new AppError('ERR_INTERNAL', 'send failed');
          answer = { code: e.code, detail: e.message.slice(0, 300) };
        }
        // A member repeats an id only when its message never came back: the fan-out that carried
        // it missed the sender (and maybe others whose link is up, who would not fetch it until
        // a later message left a gap), so it goes out once more.
        if (repeated) host.resend(roomId, answer.seq as number);
        // With room frames the batch that carries a new message is its acknowledgement (sent once
        // durable); refusals and repeats (nothing new to fan out) are answered one by one.
        if (answer.seq !== undefined && !repeated && deps.sessions.sendFrame) return;
        // Acknowledged only once recorded durably: an acked message survives a crash.
        void core
          .durable()
          .then(() =>
            deps.sessions.push(from, { type: 'room.ack', roomId, id: push.env.id, ...answer }),
          )
          .catch(() => undefined);
        return;
      }
      member.onPush(from, push);
    },

    handleFrame(from, frame) {
      const r = decodeRoomFrame(frame);
      if (!r.ok) return;
      const { batch, body, sig } = r.value;
      const h = core.rooms.get(batch.roomId);
      if (!h || ctxOf(h).isHost || ctxOf(h).host !== from) return;
      const hostKey = core.publicKeyOf(from);
      if (!hostKey || !verify(hostKey, SignatureDomains.roomBatch, [body], sig)) return;
      member.onPush(from, { type: 'room.msgs', roomId: batch.roomId, msgs: batch.msgs });
    },

    onSession(peerId) {
      for (const h of core.rooms.values()) {
        const c = ctxOf(h);
        if (!c.isHost && c.host === peerId && stateOf(h) === 'active')
          void member.catchUp(h).catch(() => undefined);
      }
    },

    async restore() {
      const restored = await restoreRooms(deps.store);
      // A room this peer deleted keeps no secrets (one deleted by an older build may still have).
      const isDeleted = (r: (typeof restored)[number]): boolean =>
        'restore' in r.input && r.input.restore.state === 'deleted' && r.input.restore.isHost;
      for (const r of restored) if (isDeleted(r)) await keys.forget(r.roomId);
      await keys.load(restored.filter((r) => !isDeleted(r)).map((r) => r.roomId));
      for (const r of restored) {
        for (const m of r.members) core.learnMember(m);
        const h = core.spawn(r.roomId, r.input);
        const nowMs = core.now().getTime();
        for (const m of r.messages) addMessage(h, m, nowMs);
        member.restored(h);
        if (!ctxOf(h).isHost && stateOf(h) === 'active') {
          member.startPolling(h);
          void member.catchUp(h).catch(() => undefined);
        }
      }
      await rotations.restore(deps.store);
      if (restored.length > 0) deps.onAdvertise?.();
      return restored.length;
    },

    stats() {
      const all = [...core.rooms.values()];
      return {
        rooms: all.length,
        hosted: all.filter((h) => ctxOf(h).isHost).length,
        messages: all.reduce((n, h) => n + h.messages.length, 0),
        ...host.stats(),
        rotations: rotations.stats(),
        counters: { ...core.counters },
      };
    },

    close() {
      clearInterval(policyTimer);
      rotations.close();
      for (const h of core.rooms.values()) member.stopPolling(h);
      keys.close();
    },
  };
  return rooms;
}
