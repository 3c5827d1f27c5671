/**
 * Whether a join request may come in, before the room machine's own guard (bans, capacity, invite
 * expiry) decides: never from a peer the owner blocked; the credentials the room's policy asks
 * for, checked on the host — an invite token (its hash is what the machine knows), or the password
 * against its scrypt hash in the keystore — the stable error for each way the machine can refuse,
 * the invites themselves, and the approval queue's upkeep (expired requests dropped, a waiting
 * peer's withdrawal).
 */
import {
  inviteTokenHash,
  newInviteToken,
  verifyRoomPassword,
} from '../../crypto/room-credentials.js';
import { importPublicKey } from '../../crypto/index.js';
import { AppError } from '../../errors.js';
import {
  expiredRequests,
  isRequestExpired,
  type joinRefusal,
} from '../../machines/room.context.js';
import { PENDING_TTL_MS, type RoomContext, type RoomPolicy } from '../../machines/room.types.js';
import { encodeInvite, type JoinRequest } from '../../protocol/room.codec.js';
import { ctxOf, type RoomHandle } from './room-handle.js';
import type { RoomsCore } from './rooms-core.js';

/** How the joiner comes in (`via`) and, with an invite, the token's hash. */
export async function admissionOf(
  core: RoomsCore,
  h: RoomHandle,
  req: JoinRequest,
): Promise<{ via: RoomPolicy; inviteHash?: string }> {
  // Before anything is recorded (a member, a request waiting for approval): a peer the owner
  // blocked does not get in under any policy. The request's key is the joiner's own (the host
  // checked it against the sender before admission is asked).
  core.refuseBlocked(importPublicKey(req.publicKey).fingerprint);
  const ctx = ctxOf(h);
  if (req.invite !== undefined) return { via: 'invite', inviteHash: inviteTokenHash(req.invite) };
  if (ctx.policy === 'password') {
    const stored = await core.keys.password(h.roomId);
    if (
      req.password === undefined ||
      stored === undefined ||
      !(await verifyRoomPassword(req.password, stored))
    )
      throw new AppError('ERR_WRONG_PASSWORD', 'wrong room password');
  } else if (ctx.policy === 'invite') {
    throw new AppError(
      'ERR_INVITE_INVALID',
      'this room is invite-only: ask a member for an invite code',
    );
  }
  return { via: ctx.policy };
}

/** The error a joiner gets for each way the machine refuses. */
export function refusalError(
  why: NonNullable<ReturnType<typeof joinRefusal>>,
  ctx: RoomContext,
): AppError {
  switch (why) {
    case 'banned':
      return new AppError('ERR_BANNED', 'you are banned from this room');
    case 'full':
      return new AppError('ERR_ROOM_FULL', `the room is full (${ctx.capacity} members)`);
    case 'invite-expired':
      return new AppError('ERR_INVITE_EXPIRED', 'this invite code has expired; ask for a new one');
    case 'invite-unknown':
      return new AppError(
        'ERR_INVITE_USED',
        'this invite code was already used or is not valid here',
      );
    case 'member':
      return new AppError('ERR_CONFLICT', 'already a member');
    case 'policy':
      return new AppError('ERR_FORBIDDEN', `this room's policy is ${ctx.policy}`);
  }
}

/** How long an invite code stays valid. */
const INVITE_TTL_MS = 24 * 3_600_000;

/**
 * A single-use invite: the host records the token's hash (with its expiry) and hands out a code
 * that carries the room, the host's fingerprint and addresses, and the token.
 */
export function createInvite(
  core: RoomsCore,
  h: RoomHandle,
  by: string,
): { code: string; expiresAt: string } {
  const { token, hash } = newInviteToken();
  const expiresAt = new Date(core.now().getTime() + INVITE_TTL_MS).toISOString();
  h.actor.send({ type: 'invite.create', hash, expiresAt, by, at: core.at() });
  const code = encodeInvite({
    roomId: h.roomId,
    roomName: ctxOf(h).name,
    host: core.self,
    urls: core.deps.selfUrls().slice(0, 4),
    token,
    expiresAt,
  });
  return { code, expiresAt };
}

/**
 * Drop the approval requests that expired by `at`, oldest first: one `member.expire` each in the
 * room's stream (no timers: this runs when a request arrives, and when one is approved).
 */
export function dropExpiredRequests(core: RoomsCore, h: RoomHandle, at: string): void {
  for (const peerId of expiredRequests(ctxOf(h), at)) {
    h.actor.send({ type: 'member.expire', peerId, at });
    core.publishRoom(h, 'request-expired', { peerId });
  }
}

/** Before an approval: a request that expired is dropped, and the approver told so. */
export function refuseExpiredRequest(core: RoomsCore, h: RoomHandle, peerId: string, at: string) {
  if (!isRequestExpired(ctxOf(h), peerId, at)) return;
  dropExpiredRequests(core, h, at);
  throw new AppError(
    'ERR_NOT_FOUND',
    `the join request from that peer expired (requests wait ${PENDING_TTL_MS / 3_600_000} h for approval); it can ask again`,
  );
}

/**
 * A peer still waiting for approval leaves: its request is withdrawn. True if it was waiting
 * (nothing else to do: no key ever went to it, so nothing rotates).
 */
export function withdrawRequest(core: RoomsCore, h: RoomHandle, peerId: string): boolean {
  if (ctxOf(h).pending[peerId] === undefined) return false;
  h.actor.send({ type: 'member.leave', peerId, at: core.at() });
  core.publishRoom(h, 'request-withdrawn', { peerId });
  return ctxOf(h).pending[peerId] === undefined;
}
