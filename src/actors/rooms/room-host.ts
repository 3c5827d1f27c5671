/**
 * The host half of rooms: create, authorize joins (policy, password, invite, approval, capacity,
 * bans, strict trust), sequence members' messages (membership and signature checked, idempotent
 * by id), fan them out over push links coalesced per tick, answer catch-up fetches, and start a
 * new epoch — delivering its key wrapped to each member — whenever someone leaves or is removed.
 */
import { randomBytes } from 'node:crypto';
import { hashRoomPassword } from '../../crypto/room-credentials.js';
import { AppError, type ErrorCode } from '../../errors.js';
import { joinRefusal } from '../../machines/room.context.js';
import type { RoomMember } from '../../machines/room.types.js';
import type { Rotations } from './rotations.js';
import type { WrappedKey } from '../../protocol/room.codec.js';
import {
  addMessage,
  DEDUPE_MS,
  ctxOf,
  messageBySeq,
  messagesAfter,
  roomWire,
  seqOfId,
  stateOf,
  streamOf,
  wireMembers,
  type RoomHandle,
} from './room-handle.js';
import type { RoomsCore } from './rooms-core.js';
import {
  admissionOf,
  createInvite,
  dropExpiredRequests,
  refuseExpiredRequest,
  refusalError,
  withdrawRequest,
} from './room-admission.js';
import type { RoomHost } from './room-host.types.js';
import { batches, createFanOut } from './room-fanout.js';
import { createGrants } from './room-grant.js';

/** Messages under one epoch key before a rotation is forced (far below the nonce budget). */
export const PER_KEY_MESSAGE_LIMIT = 1_000_000;
/** How long `rotate` waits for a commit before answering with the progress (202). */
const REPORT_WAIT_MS = 2_000;

function refuse(code: ErrorCode, detail: string): never {
  throw new AppError(code, detail);
}

export function createRoomHost(core: RoomsCore, rotations: Rotations): RoomHost {
  const { deps, keys, self } = core;
  const fanOut = createFanOut(core);
  let sequenced = 0;

  function hosted(roomId: string): RoomHandle {
    const h = core.room(roomId);
    if (!ctxOf(h).isHost || stateOf(h) !== 'active')
      refuse('ERR_NOT_FOUND', `this peer does not host an active room ${roomId}`);
    return h;
  }

  function roleOf(h: RoomHandle, peerId: string): RoomMember['role'] | null {
    return ctxOf(h).members[peerId]?.role ?? null;
  }

  function pushAll(
    h: RoomHandle,
    build: (peerId: string) => Promise<Record<string, unknown> & { type: string }>,
  ): void {
    for (const peerId of Object.keys(ctxOf(h).members)) {
      if (peerId === self) continue;
      void build(peerId)
        .then((inner) => deps.sessions.push(peerId, inner))
        .catch(() => undefined);
    }
  }

  const grantFor = createGrants(core, rotations);

  function announceMembers(h: RoomHandle): void {
    const members = wireMembers(ctxOf(h));
    pushAll(h, () => Promise.resolve({ type: 'room.members', roomId: h.roomId, members }));
    core.publishRoom(h, 'members');
  }

  const host: RoomHost = {
    async create(o) {
      const roomId = randomBytes(16).toString('base64url');
      if (o.policy === 'password') {
        if (!o.password) refuse('ERR_INVALID_ARGUMENT', 'a password room needs --password');
        await keys.setPassword(roomId, await hashRoomPassword(o.password));
      }
      await keys.newEpoch(roomId, 1);
      const h = core.spawn(roomId, { stream: streamOf(roomId), roomId, self });
      h.actor.send({
        type: 'room.created',
        roomId,
        name: o.name,
        topic: o.topic ?? '',
        policy: o.policy,
        capacity: o.capacity,
        suite: o.suite,
        host: self,
        hostName: deps.name,
        rotation: {
          everyMessages: o.rotation?.everyMessages ?? null,
          everyMinutes: o.rotation?.everyMinutes ?? null,
          keepEpochs: o.rotation?.keepEpochs ?? 2,
        },
        owner: core.selfMember('owner'),
        at: core.at(),
      });
      core.publishRoom(h, 'created');
      deps.onAdvertise?.();
      return h;
    },

    async join(from, req) {
      const h = hosted(req.roomId);
      const ctx = ctxOf(h);
      if (req.publicKey && !core.learnMember({ peerId: from, publicKey: req.publicKey }))
        refuse('ERR_INVALID_ARGUMENT', 'the public key in the join request is not this peer’s');
      if (ctx.members[from]) return { state: 'joined', grant: await grantFor(h, from) };
      core.refuseBlocked(from);
      if (deps.trustMode === 'strict' && deps.pinState(from) !== 'verified')
        refuse(
          'ERR_NOT_VERIFIED',
          'this host runs --trust strict: compare fingerprints out of band, then the owner runs conclave verify <your peer id>',
        );
      const at = core.at();
      const { via, inviteHash } = await admissionOf(core, h, req);
      // The password check takes a while (scrypt): the room may have been deleted meanwhile.
      hosted(req.roomId);
      const member: RoomMember = {
        peerId: from,
        name: req.name,
        role: 'member',
        kind: req.kind,
        publicKey: req.publicKey,
        joinedAt: at,
      };
      const now = ctxOf(h);
      const why = joinRefusal(now, from, via === 'approval' ? 'open' : via, inviteHash, at);
      if (via === 'approval' && why === 'policy') {
        // Requests nobody approved in time make room first; one peer id holds at most one slot.
        dropExpiredRequests(core, h, at);
        h.actor.send({ type: 'member.request', member: { ...member }, at });
        if (!ctxOf(h).pending[from])
          refuse('ERR_ROOM_FULL', 'too many pending requests; try later');
        core.publishRoom(h, 'request', { peerId: from, peerName: req.name });
        return { state: 'pending', room: roomWire(h) };
      }
      if (why !== null) throw refusalError(why, now);
      h.actor.send({ type: 'member.join', member, via, ...(inviteHash ? { inviteHash } : {}), at });
      if (!ctxOf(h).members[from]) refuse('ERR_ROOM_FULL', 'the room filled up; try later');
      const grant = await grantFor(h, from);
      announceMembers(h);
      return { state: 'joined', grant };
    },

    async leave(from, roomId) {
      const h = hosted(roomId);
      if (!ctxOf(h).members[from]) {
        if (withdrawRequest(core, h, from)) return;
        refuse('ERR_NOT_MEMBER', 'not a member of this room');
      }
      h.actor.send({ type: 'member.leave', peerId: from, at: core.at() });
      rotations.memberRemoved(h, from);
      // Mandatory, and the epoch advances inside this call, before anything awaits: no message
      // under the old key is accepted after the leave. The answer does not wait for the commit
      // (up to the 30 s deadline when a member is away — longer than the leaver's request timeout).
      void host.rotate(h, 'leave', true).catch(() => undefined);
      announceMembers(h);
      await keys.dropKek(h.roomId, from);
    },

    async fetch(from, roomId, after, limit) {
      const h = hosted(roomId);
      const ctx = ctxOf(h);
      if (!ctx.members[from]) refuse('ERR_NOT_MEMBER', 'not a member of this room');
      core.refuseBlocked(from);
      if (!core.mayReceiveKeys(from))
        refuse(
          'ERR_NOT_VERIFIED',
          'this host runs --trust strict and no longer trusts your key; ask the owner to verify you',
        );
      // A member reads what follows its admission, nothing from before (a rejoin after a kick
      // must not open what was said while it was out): no older message, no older epoch key.
      const since = ctx.admitted[from] ?? { epoch: 0, seq: 0 };
      const start = Math.max(after, since.seq);
      // Read together: sends sequenced while the keys are wrapped below may move the window on.
      const msgs = batches(messagesAfter(h, start, limit))[0] ?? [];
      const floor = Math.max(h.floor, since.seq);
      const next = rotations.running(roomId)?.epoch;
      const epochs = new Set<number>([ctx.epoch, ...msgs.map((m) => m.env.epoch)]);
      if (next !== undefined) epochs.add(next);
      for (const epoch of epochs) if (epoch < since.epoch) epochs.delete(epoch);
      const wrapped: WrappedKey[] = [];
      for (const epoch of epochs)
        if (keys.hasEpoch(roomId, epoch))
          wrapped.push({ epoch, wrapped: await keys.wrapFor(roomId, epoch, from) });
      return {
        msgs: msgs.map((m) => ({ seq: m.seq, env: m.env })),
        seq: ctx.seq,
        epoch: ctx.epoch,
        keys: wrapped,
        members: wireMembers(ctx),
        ...(after < floor ? { floor } : {}),
      };
    },

    resend(roomId, seq) {
      const h = core.rooms.get(roomId);
      const m = h && messageBySeq(h, seq);
      if (h && m) fanOut.enqueue(h, { seq: m.seq, env: m.env });
    },

    sequence(from, env) {
      const h = hosted(env.roomId);
      const ctx = ctxOf(h);
      if (env.sender !== from) refuse('ERR_FORBIDDEN', 'a member can only send as itself');
      const member = ctx.members[from];
      if (!member) refuse('ERR_NOT_MEMBER', 'not a member of this room');
      const seen = seqOfId(h, from, env.id);
      if (seen !== undefined) return { seq: seen, repeated: true };
      // Ids are remembered for DEDUPE_MS past a message's time: a send further off our clock
      // could be the retry of one already forgotten, so it is refused rather than sequenced twice.
      const skewMs = Date.parse(env.sentAt) - core.now().getTime();
      if (!(Math.abs(skewMs) <= DEDUPE_MS))
        refuse(
          'ERR_CLOCK_SKEW',
          `the message was stamped ${Math.round(skewMs / 1000)} s from the host's clock (at most ${DEDUPE_MS / 1000} s either way): if this is a late retry, the message may already be in the room — check, and send it again as a new message; otherwise check this peer's clock (NTP)`,
        );
      if (env.epoch > ctx.epoch || env.epoch < ctx.minSendEpoch)
        refuse(
          'ERR_CONFLICT',
          `epoch ${env.epoch} is not current (${ctx.epoch}); fetch the new key and resend`,
        );
      if (env.suite !== ctx.suite) refuse('ERR_INVALID_MESSAGE', `this room uses ${ctx.suite}`);
      core.learnMember(member);
      const stored = { seq: ctx.seq + 1, env, verdict: null };
      const pkOk = core.verdictOf(h, { ...stored, verdict: undefined });
      if (pkOk !== null) refuse('ERR_BAD_SIGNATURE', pkOk.detail);
      h.actor.send({
        type: 'message.sequence',
        seq: stored.seq,
        id: env.id,
        sender: env.sender,
        epoch: env.epoch,
        sentAt: env.sentAt,
        suite: env.suite,
        ct: env.ct,
        sig: env.sig,
        ...(env.batch ? { batch: env.batch } : {}),
        at: core.at(),
      });
      if (ctxOf(h).seq !== stored.seq)
        refuse('ERR_CONFLICT', 'the room did not accept the message');
      addMessage(h, stored, core.now().getTime());
      sequenced++;
      fanOut.enqueue(h, { seq: stored.seq, env });
      core.publishMessage(h, stored);
      const after = ctxOf(h);
      const every = after.rotation.everyMessages;
      if (
        (every !== null && after.epochMessages >= every) ||
        after.epochMessages >= PER_KEY_MESSAGE_LIMIT
      )
        void host.rotate(h, 'policy:messages').catch(() => undefined);
      return { seq: stored.seq };
    },

    async admin(from, req) {
      const h = hosted(req.roomId);
      const role = roleOf(h, from);
      // Someone no longer (or not yet) in the room is told that, not that the op needs a role.
      if (!ctxOf(h).members[from]) refuse('ERR_NOT_MEMBER', 'not a member of this room');
      if (role !== 'owner' && role !== 'admin')
        refuse('ERR_FORBIDDEN', 'only the owner or an admin can do that');
      switch (req.op) {
        case 'invite':
          return createInvite(core, h, from);
        case 'kick':
          if (req.peerId === ctxOf(h).host) refuse('ERR_FORBIDDEN', 'the owner cannot be removed');
          if (role === 'admin' && roleOf(h, req.peerId) === 'admin')
            refuse('ERR_FORBIDDEN', 'an admin cannot remove another admin');
          await host.remove(h, from, req.peerId, req.ban);
          return { removed: req.peerId, banned: req.ban };
        case 'approve': {
          const at = core.at();
          refuseExpiredRequest(core, h, req.peerId, at);
          // Blocked since it asked: refused before it becomes a member (it would stay one, keyless).
          core.refuseBlocked(req.peerId);
          h.actor.send({ type: 'member.approve', peerId: req.peerId, by: from, at });
          if (!ctxOf(h).members[req.peerId])
            refuse('ERR_NOT_FOUND', 'no pending request from that peer (or the room is full)');
          const grant = await grantFor(h, req.peerId);
          void deps.sessions
            .push(req.peerId, { type: 'room.admitted', grant })
            .catch(() => undefined);
          announceMembers(h);
          return { approved: req.peerId };
        }
        case 'rotate':
          if (role !== 'owner' && role !== 'admin')
            refuse('ERR_FORBIDDEN', 'only the owner or an admin can rotate');
          return host.rotateReport(h);
        case 'role':
          if (role !== 'owner') refuse('ERR_FORBIDDEN', 'only the owner changes roles');
          if (!ctxOf(h).members[req.peerId])
            refuse('ERR_NOT_FOUND', 'that peer is not a member of this room');
          if (req.peerId === ctxOf(h).host)
            refuse('ERR_FORBIDDEN', 'the owner’s role cannot change');
          h.actor.send({
            type: 'member.role',
            peerId: req.peerId,
            role: req.role,
            by: from,
            at: core.at(),
          });
          announceMembers(h);
          return { peerId: req.peerId, role: req.role };
      }
    },

    rotate(h, reason, mandatory = false) {
      return rotations.request(h, reason, mandatory);
    },

    async rotateReport(h) {
      const done = host.rotate(h, 'manual');
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<undefined>((r) => {
        timer = setTimeout(() => r(undefined), REPORT_WAIT_MS);
      });
      try {
        const first = await Promise.race([done, waited]);
        return first ?? rotations.running(h.roomId) ?? (await done);
      } finally {
        clearTimeout(timer);
      }
    },

    checkPolicies() {
      const now = core.now().getTime();
      for (const h of core.rooms.values()) {
        const c = ctxOf(h);
        const minutes = c.rotation.everyMinutes;
        if (!c.isHost || stateOf(h) !== 'active' || minutes === null) continue;
        if (rotations.running(h.roomId)) continue;
        if (now - Date.parse(c.epochStartedAt) >= minutes * 60_000)
          void host.rotate(h, 'policy:time').catch(() => undefined);
      }
    },

    async remove(h, by, peerId, ban) {
      const was = ctxOf(h).members[peerId] !== undefined || ctxOf(h).pending[peerId] !== undefined;
      h.actor.send({ type: 'member.remove', peerId, by, ban, at: core.at() });
      if (!ban && !was) refuse('ERR_NOT_FOUND', 'that peer is not a member of this room');
      void deps.sessions
        .push(peerId, { type: 'room.removed', roomId: h.roomId, reason: ban ? 'banned' : 'kicked' })
        .catch(() => undefined);
      rotations.memberRemoved(h, peerId);
      // Mandatory, the epoch advancing inside this call, before anything awaits (the KEK's
      // shredding below is disk I/O): no message under the old key is accepted after a removal.
      if (was) void host.rotate(h, ban ? 'ban' : 'kick', true).catch(() => undefined);
      announceMembers(h);
      await keys.dropKek(h.roomId, peerId);
    },

    async delete(h) {
      pushAll(h, () =>
        Promise.resolve({ type: 'room.removed', roomId: h.roomId, reason: 'deleted' }),
      );
      h.actor.send({ type: 'room.deleted', at: core.at() });
      // Its rotation ends with it: no key or commit goes out for a room that no longer exists.
      rotations.roomDeleted(h);
      core.publishRoom(h, 'deleted');
      deps.onAdvertise?.();
      // Shred every secret of the room: KEKs only wrap later keys and the password only admits
      // joiners; its history stays in the log as ciphertext, no longer readable here.
      await keys.forget(h.roomId);
    },

    stats: () => ({ sequenced, fanout: fanOut.deliveries() }),
  };
  return host;
}
