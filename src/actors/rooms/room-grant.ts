/**
 * The host's join grant (protocol §5.1): the member's KEK and the epoch keys it needs (the current
 * one, and a running rotation's next one), wrapped to it, with the room and its members. Every way
 * to a grant — a join, a re-join, an approval — passes here, so strict trust and the re-checks
 * after each wait hold for all of them.
 */
import { AppError } from '../../errors.js';
import type { JoinGrant } from '../../protocol/room.codec.js';
import { ctxOf, roomWire, stateOf, wireMembers, type RoomHandle } from './room-handle.js';
import type { RoomsCore } from './rooms-core.js';
import type { Rotations } from './rotations.js';

/**
 * After each wait while a grant is made: the room still stands and the peer is still in it (it
 * may have left, been kicked or the room deleted meanwhile — then it gets no key).
 */
function stillAdmitted(h: RoomHandle, peerId: string): void {
  if (stateOf(h) !== 'active') throw new AppError('ERR_NOT_FOUND', `room ${h.roomId} was deleted`);
  if (!ctxOf(h).members[peerId])
    throw new AppError('ERR_NOT_MEMBER', 'that peer left the room meanwhile');
}

/**
 * @example
 * const grantFor = createGrants(core, rotations);
 * return { state: 'joined', grant: await grantFor(h, from) };
 */
export function createGrants(
  core: RoomsCore,
  rotations: Rotations,
): (h: RoomHandle, peerId: string) => Promise<JoinGrant> {
  const { keys } = core;
  return async (h, peerId) => {
    core.refuseBlocked(peerId);
    if (!core.mayReceiveKeys(peerId))
      throw new AppError(
        'ERR_NOT_VERIFIED',
        'this host runs --trust strict and does not trust that peer’s key now: compare fingerprints out of band, then the owner runs conclave verify <peer id>',
      );
    const kek = await keys.hostKek(h.roomId, peerId);
    stillAdmitted(h, peerId);
    const ctx = ctxOf(h);
    const next = rotations.running(h.roomId)?.epoch;
    const extra =
      next !== undefined && keys.hasEpoch(h.roomId, next)
        ? [{ epoch: next, wrapped: await keys.wrapFor(h.roomId, next, peerId) }]
        : [];
    // It holds the running rotation's key too, as the members who acked it do (it is not among
    // that rotation's members: it would never ack).
    rotations.noteMemberEpoch(h.roomId, peerId, extra.length > 0 ? (next as number) : ctx.epoch);
    const current = await keys.wrapFor(h.roomId, ctx.epoch, peerId);
    stillAdmitted(h, peerId);
    return {
      state: 'joined',
      room: roomWire(h),
      kek: kek.toString('base64url'),
      keys: [{ epoch: ctx.epoch, wrapped: current }, ...extra],
      members: wireMembers(ctx),
      role: ctx.members[peerId]?.role ?? 'member',
    };
  };
}
