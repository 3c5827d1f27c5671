/**
 * Pure functions over a room machine's context: its empty value, the public room facts it holds,
 * and the join rule that both the machine's guards and the runtime (for error codes) apply.
 */
import {
  PENDING_TTL_MS,
  type Admission,
  type RoomContext,
  type RoomInfo,
  type RoomInput,
  type RoomPolicy,
} from './room.types.js';

/** Why a join is refused, or null when it is allowed. Shared with the runtime for error codes. */
export function joinRefusal(
  ctx: RoomContext,
  peerId: string,
  via: RoomPolicy | 'owner',
  inviteHash: string | undefined,
  at: string,
): 'banned' | 'member' | 'full' | 'invite-unknown' | 'invite-expired' | 'policy' | null {
  if (ctx.banned[peerId] !== undefined) return 'banned';
  if (ctx.members[peerId] !== undefined) return 'member';
  if (Object.keys(ctx.members).length >= ctx.capacity) return 'full';
  if (via === 'invite') {
    const invite = inviteHash === undefined ? undefined : ctx.invites[inviteHash];
    if (!invite) return 'invite-unknown';
    if (Date.parse(invite.expiresAt) <= Date.parse(at)) return 'invite-expired';
    return null;
  }
  if (via === 'owner') return Object.keys(ctx.members).length === 0 ? null : 'policy';
  if (via === 'approval') return null;
  return via === ctx.policy ? null : 'policy';
}

/** Whether `peerId`'s join request is pending and older than `PENDING_TTL_MS` at `at`. */
export function isRequestExpired(ctx: RoomContext, peerId: string, at: string): boolean {
  const p = ctx.pending[peerId];
  return p !== undefined && Date.parse(p.joinedAt) + PENDING_TTL_MS <= Date.parse(at);
}

/** Peer ids of the join requests expired at `at`, oldest first. */
export function expiredRequests(ctx: RoomContext, at: string): string[] {
  return Object.values(ctx.pending)
    .filter((p) => isRequestExpired(ctx, p.peerId, at))
    .sort((a, b) => Date.parse(a.joinedAt) - Date.parse(b.joinedAt))
    .map((p) => p.peerId);
}

/** `rec` without `key` (a new record; `rec` is left as it is). */
export function without<T>(rec: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const { [key]: _gone, ...rest } = rec;
  return rest;
}

/** `ctx.admitted` with `peerId` admitted now: at the room's current epoch and sequence. */
export function admit(ctx: RoomContext, peerId: string): Record<string, Admission> {
  return { ...ctx.admitted, [peerId]: { epoch: ctx.epoch, seq: ctx.seq } };
}

/** The context of a room this peer has not yet created, joined or asked to join. */
export function emptyContext(input: Extract<RoomInput, { roomId: string }>): RoomContext {
  return {
    stream: input.stream,
    self: input.self,
    isHost: false,
    roomId: input.roomId,
    name: '?',
    topic: '',
    policy: 'open',
    capacity: 1,
    suite: 'aes-256-gcm',
    host: '',
    hostName: '?',
    rotation: { everyMessages: null, everyMinutes: null, keepEpochs: 2 },
    hostUrls: [],
    members: {},
    admitted: {},
    banned: {},
    pending: {},
    invites: {},
    epoch: 0,
    seq: 0,
    minSendEpoch: 0,
    epochMessages: 0,
    epochStartedAt: '',
    removedReason: null,
    restoredState: null,
  };
}

/** Only the `RoomInfo` fields of `r` (an event or wire object may carry more). */
export function roomInfoOf(r: RoomInfo): RoomInfo {
  return {
    roomId: r.roomId,
    name: r.name,
    topic: r.topic,
    policy: r.policy,
    capacity: r.capacity,
    suite: r.suite,
    host: r.host,
    hostName: r.hostName,
    rotation: r.rotation,
  };
}
