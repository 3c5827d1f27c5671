/**
 * The member half of rooms: join a host's room (by discovery, id, name or invite code), take the
 * keys it wraps to us, encrypt and sign our messages, receive the host's sequence by push or by
 * polling (`after=<seq>`, one cursor), fill gaps, and follow membership and epoch changes.
 */
import { AppError } from '../../errors.js';
import type { RoomMember } from '../../machines/room.types.js';
import {
  decodeWith,
  FetchResultSchema,
  JoinGrantSchema,
  PendingSchema,
  type Invite,
  type JoinGrant,
  type MemberWire,
  type RoomPush,
  type Sequenced,
} from '../../protocol/room.codec.js';
import { addMessage, ctxOf, stateOf, streamOf, type RoomHandle } from './room-handle.js';
import type { RoomHost } from './room-host.types.js';
import { createRoomSender, failed, type SendResult } from './room-send.js';
import { headerOf, type RoomsCore } from './rooms-core.js';

export type { SendResult } from './room-send.js';

export interface JoinTarget {
  readonly roomId: string;
  readonly host: string;
  readonly urls: readonly string[];
}

export interface RoomMemberSide {
  join(
    t: JoinTarget,
    auth: { password?: string; invite?: Invite },
  ): Promise<RoomHandle | 'pending'>;
  leave(h: RoomHandle): Promise<void>;
  send(h: RoomHandle, text: string, id?: string): Promise<SendResult>;
  /** After a restart: our own messages still held keep their first stamps for retries. */
  restored(h: RoomHandle): void;
  onPush(from: string, push: RoomPush): void;
  catchUp(h: RoomHandle): Promise<void>;
  startPolling(h: RoomHandle): void;
  stopPolling(h: RoomHandle): void;
  admin(h: RoomHandle, body: Record<string, unknown>): Promise<unknown>;
}

const fail = failed;

function toMember(m: MemberWire, at: string): RoomMember {
  return { ...m, joinedAt: at };
}

export function createRoomMember(core: RoomsCore, host: RoomHost): RoomMemberSide {
  const { deps, keys, self } = core;
  /** The latest epoch each host told us it committed. */
  const committedEpochs = new Map<string, number>();

  async function ask(
    h: RoomHandle | null,
    hostId: string,
    path: string,
    body: unknown,
    urls?: readonly string[],
  ) {
    const ctxUrls = h ? ctxOf(h).hostUrls : [];
    return deps.sessions.request(hostId, { method: 'POST', path, body }, [
      ...(urls ?? []),
      ...ctxUrls,
    ]);
  }

  /**
   * Take a join grant for `roomId` from `from`, the host we asked (or the one our pending request
   * waits on). Nothing is stored before every check passes: a grant naming another room, or a room
   * this peer already knows under another host, would otherwise overwrite that room's KEK or hand
   * it to a peer that merely claims to host it.
   */
  async function acceptGrant(
    grant: JoinGrant,
    urls: readonly string[],
    from: string,
    roomId: string,
  ): Promise<RoomHandle> {
    if (grant.room.roomId !== roomId)
      throw new AppError('ERR_INVALID_MESSAGE', 'the host answered for another room');
    if (grant.room.host !== from)
      throw new AppError('ERR_FORBIDDEN', 'the grant is not from the room host');
    const known = core.rooms.get(roomId);
    const knownHost = known ? ctxOf(known).host : '';
    if (knownHost !== '' && knownHost !== from)
      throw new AppError('ERR_FORBIDDEN', `room ${roomId} is hosted by another peer`);
    for (const m of grant.members) core.learnMember(m);
    await keys.setOwnKek(roomId, Buffer.from(grant.kek, 'base64url'));
    for (const k of grant.keys) await keys.acceptWrapped(roomId, k.epoch, self, k.wrapped);
    const at = core.at();
    let h = core.rooms.get(roomId);
    h ??= core.spawn(roomId, { stream: streamOf(roomId), roomId, self });
    if (stateOf(h) !== 'active') {
      const { seq: _seq, epoch: _epoch, ...info } = grant.room;
      h.actor.send({
        type: 'room.joined',
        room: info,
        members: grant.members.map((m) => toMember(m, at)),
        epoch: grant.room.epoch,
        seq: grant.room.seq,
        hostUrls: [...new Set(urls)].slice(0, 4),
        at,
      });
    }
    core.publishRoom(h, 'joined');
    member.startPolling(h);
    return h;
  }

  function record(h: RoomHandle, m: Sequenced): void {
    h.actor.send({
      type: 'message.receive',
      seq: m.seq,
      id: m.env.id,
      sender: m.env.sender,
      epoch: m.env.epoch,
      sentAt: m.env.sentAt,
      suite: m.env.suite,
      ct: m.env.ct,
      sig: m.env.sig,
      ...(m.env.batch ? { batch: m.env.batch } : {}),
      at: core.at(),
    });
    if (ctxOf(h).seq !== m.seq) return;
    const stored = { seq: m.seq, env: m.env };
    addMessage(h, stored, core.now().getTime());
    core.counters.received++;
    core.publishMessage(h, stored);
    // Our own message, sequenced: that is its acknowledgement.
    if (m.env.sender === self) sender.settle(h.roomId, m.env.id, { seq: m.seq });
  }

  /**
   * Take messages in order; a gap triggers a fetch from our cursor. So does a message of a later
   * epoch whose key has not reached us (after a removal the host seals under the new epoch at
   * once, while the key goes out after its keystore write): it waits, unrecorded, for the fetch,
   * whose answer carries the key — shown unreadable on the feed, it would never be shown again.
   * `fetched`: the fetch's own answer, its keys already taken; what still has none is recorded.
   */
  function ingest(h: RoomHandle, msgs: readonly Sequenced[], fetched = false): void {
    const sorted = [...msgs].sort((a, b) => a.seq - b.seq);
    for (const [i, m] of sorted.entries()) {
      const at = ctxOf(h).seq;
      if (m.seq <= at) continue;
      if (m.seq > at + 1) {
        void member.catchUp(h).catch(() => undefined);
        return;
      }
      if (!fetched && m.env.epoch > ctxOf(h).epoch && !keys.hasEpoch(h.roomId, m.env.epoch)) {
        // After any fetch under way (it may have asked before this message was sequenced). A
        // fetch that fails (the host unreachable, or no longer letting us fetch) must not stall
        // the room: what waited is then recorded as it is (shown unreadable), as before.
        const waiting = sorted.slice(i);
        void (h.catchingUp ?? Promise.resolve())
          .catch(() => undefined)
          .then(() => member.catchUp(h))
          .catch(() => {
            if (stateOf(h) === 'active') ingest(h, waiting, true);
          });
        return;
      }
      record(h, m);
    }
  }

  /** Switch to a later epoch whose key we hold; shred keys that left the window. */
  function learnEpoch(h: RoomHandle, epoch: number): void {
    if (epoch <= ctxOf(h).epoch || !keys.hasEpoch(h.roomId, epoch)) return;
    h.actor.send({ type: 'epoch.learn', epoch, at: core.at() });
    const keep = ctxOf(h).rotation.keepEpochs;
    for (const e of keys.epochs(h.roomId)) if (e < epoch - keep) void keys.shred(h.roomId, e);
  }

  /** Take a wrapped key from the host and tell it we hold it. */
  async function takeKey(h: RoomHandle, epoch: number, wrapped: string): Promise<boolean> {
    const isOk = await keys.acceptWrapped(h.roomId, epoch, self, wrapped);
    if (isOk)
      void deps.sessions
        .push(ctxOf(h).host, { type: 'room.key-ack', roomId: h.roomId, epoch })
        .catch(() => undefined);
    return isOk;
  }

  const sender = createRoomSender(core, host, {
    ask: (h, path, body) => ask(h, ctxOf(h).host, path, body),
    catchUp: (h) => member.catchUp(h),
  });

  const member: RoomMemberSide = {
    send: (h, text, id) => sender.send(h, text, id),
    restored: (h) => {
      for (const m of h.messages)
        if (m.env.sender === self) sender.rememberStamp(h.roomId, m.env.id, m.env.sentAt);
    },

    async join(t, auth) {
      if (t.host === self) throw new AppError('ERR_INVALID_ARGUMENT', 'this peer hosts that room');
      const body = {
        roomId: t.roomId,
        name: deps.name,
        kind: deps.identity.kind,
        publicKey: deps.identity.publicKeyBytes.toString('base64url'),
        ...(auth.password !== undefined ? { password: auth.password } : {}),
        ...(auth.invite !== undefined ? { invite: auth.invite.token } : {}),
      };
      const r = await ask(null, t.host, '/rooms/join', body, t.urls);
      if (r.status === 202) {
        const pending = decodeWith(PendingSchema, r.body);
        if (!pending.ok)
          throw new AppError('ERR_INVALID_MESSAGE', `bad join answer: ${pending.error.detail}`);
        const h =
          core.rooms.get(t.roomId) ??
          core.spawn(t.roomId, { stream: streamOf(t.roomId), roomId: t.roomId, self });
        const { seq: _seq, epoch: _epoch, ...room } = pending.value.room;
        if (room.roomId !== t.roomId || room.host !== t.host)
          throw new AppError('ERR_INVALID_MESSAGE', 'the host answered for another room');
        h.actor.send({
          type: 'room.pending',
          room,
          hostUrls: [...t.urls].slice(0, 4),
          at: core.at(),
        });
        core.publishRoom(h, 'pending');
        return 'pending';
      }
      if (r.status !== 200) fail(r, 'join');
      const grant = decodeWith(JoinGrantSchema, r.body);
      if (!grant.ok)
        throw new AppError('ERR_INVALID_MESSAGE', `bad join answer: ${grant.error.detail}`);
      const h = await acceptGrant(grant.value, t.urls, t.host, t.roomId);
      await member.catchUp(h);
      return h;
    },

    async leave(h) {
      const ctx = ctxOf(h);
      const r = await ask(h, ctx.host, '/rooms/leave', { roomId: h.roomId });
      // Not a member any more: the host already took our leave (an answer lost or late) — done.
      const gone = (r.body as { code?: unknown } | undefined)?.code === 'ERR_NOT_MEMBER';
      if (r.status !== 200 && r.status !== 204 && !gone) fail(r, 'leave');
      h.actor.send({ type: 'room.left', reason: 'left', at: core.at() });
      member.stopPolling(h);
      core.publishRoom(h, 'left');
    },

    onPush(from, push) {
      if (push.type === 'room.admitted') {
        const g = push.grant;
        const h = core.rooms.get(g.room.roomId);
        // Only the host our request waits on may admit us (room ids are public, in beacons).
        if (!h || stateOf(h) !== 'pending' || ctxOf(h).host !== from) return;
        void acceptGrant(g, ctxOf(h).hostUrls, from, h.roomId)
          .then((joined) => member.catchUp(joined))
          .catch(() => undefined);
        return;
      }
      if (push.type === 'room.send' || push.type === 'room.key-ack') return; // host side
      const h = core.rooms.get(push.roomId);
      if (!h || ctxOf(h).isHost || ctxOf(h).host !== from) return; // only the host speaks for a room
      switch (push.type) {
        case 'room.ack':
          sender.settle(push.roomId, push.id, push);
          return;
        case 'room.msgs':
          if (stateOf(h) === 'active') ingest(h, push.msgs);
          return;
        case 'room.commit':
          committedEpochs.set(h.roomId, push.epoch);
          if (keys.hasEpoch(h.roomId, push.epoch)) learnEpoch(h, push.epoch);
          else void member.catchUp(h).catch(() => undefined);
          return;
        case 'room.key':
          void takeKey(h, push.epoch, push.wrapped).then(() => {
            // the commit may have overtaken its key
            if (committedEpochs.get(h.roomId) === push.epoch) learnEpoch(h, push.epoch);
          });
          return;
        case 'room.members':
          for (const m of push.members) core.learnMember(m);
          h.actor.send({
            type: 'members.sync',
            members: push.members.map((m) => toMember(m, core.at())),
            at: core.at(),
          });
          core.publishRoom(h, 'members');
          return;
        case 'room.removed':
          h.actor.send({ type: 'room.left', reason: push.reason, at: core.at() });
          member.stopPolling(h);
          core.publishRoom(h, push.reason);
          return;
      }
    },

    catchUp(h) {
      h.catchingUp ??= (async () => {
        try {
          for (let round = 0; round < 10_000; round++) {
            const ctx = ctxOf(h);
            if (ctx.isHost || stateOf(h) !== 'active') return;
            const r = await ask(h, ctx.host, '/rooms/fetch', {
              roomId: h.roomId,
              after: ctx.seq,
              limit: 500,
            });
            if (r.status !== 200) {
              const code = (r.body as { code?: string } | undefined)?.code;
              if (code === 'ERR_NOT_MEMBER') {
                h.actor.send({ type: 'room.left', reason: 'kicked', at: core.at() });
                member.stopPolling(h);
              }
              fail(r, 'fetch');
            }
            const res = decodeWith(FetchResultSchema, r.body);
            if (!res.ok)
              throw new AppError('ERR_INVALID_MESSAGE', `bad fetch answer: ${res.error.detail}`);
            for (const k of res.value.keys) {
              if (!keys.hasEpoch(h.roomId, k.epoch)) await takeKey(h, k.epoch, k.wrapped);
            }
            learnEpoch(h, res.value.epoch);
            if (res.value.members) {
              for (const m of res.value.members) core.learnMember(m);
              const known = Object.keys(ctxOf(h).members).sort().join();
              if (
                known !==
                res.value.members
                  .map((m) => m.peerId)
                  .sort()
                  .join()
              )
                h.actor.send({
                  type: 'members.sync',
                  members: res.value.members.map((m) => toMember(m, core.at())),
                  at: core.at(),
                });
            }
            // A floor only ever skips what the answer does not carry, and never past the room.
            const first = res.value.msgs.reduce((m, x) => Math.min(m, x.seq), res.value.seq + 1);
            const floor = Math.min(res.value.floor ?? 0, first - 1, res.value.seq);
            if (floor > ctxOf(h).seq) {
              // The host's history window moved past our cursor: say so, in the log and the feed.
              const from = ctxOf(h).seq + 1;
              h.actor.send({ type: 'messages.skip', through: floor, at: core.at() });
              core.publishRoom(h, 'history-skipped', { from, through: floor });
            }
            ingest(h, res.value.msgs, true);
            if (res.value.msgs.length === 0 || ctxOf(h).seq >= res.value.seq) return;
          }
        } finally {
          h.catchingUp = undefined;
        }
      })();
      return h.catchingUp;
    },

    startPolling(h) {
      if (h.pollTimer !== undefined || ctxOf(h).isHost) return;
      h.pollTimer = setInterval(() => {
        const ctx = ctxOf(h);
        if (stateOf(h) !== 'active') return;
        if (!deps.sessions.isLinkUp(ctx.host)) void member.catchUp(h).catch(() => undefined);
      }, deps.pollMs ?? 2_000);
      h.pollTimer.unref();
    },

    stopPolling(h) {
      if (h.pollTimer) clearInterval(h.pollTimer);
      h.pollTimer = undefined;
    },

    async admin(h, body) {
      // A room we left, were removed from, or still wait to be let into: the host would only
      // answer that the op is not ours to make; say what is actually wrong, without asking.
      if (stateOf(h) !== 'active')
        throw new AppError('ERR_NOT_MEMBER', 'you are not in this room (join it first)');
      const r = await ask(h, ctxOf(h).host, '/rooms/admin', { roomId: h.roomId, ...body });
      if (r.status !== 200) fail(r, 'admin');
      return r.body;
    },
  };
  return member;
}

export { headerOf };
