/**
 * How the local API shows rooms: the rooms on this peer (hosted or joined, with their rotation
 * state) and the rooms other peers advertise on the LAN.
 */
import { isRequestExpired } from '../../machines/room.context.js';
import type { RoomPolicy, RoomSuite, RotationPolicy } from '../../machines/room.types.js';
import { ctxOf, stateOf, type RoomHandle } from './room-handle.js';
import type { DirectoryPeer } from './rooms-core.js';
import type { RotationView } from './rotations.js';

export interface RoomView {
  readonly roomId: string;
  readonly name: string;
  readonly topic: string;
  readonly host: string;
  readonly hostName: string;
  readonly policy: RoomPolicy;
  readonly capacity: number | null;
  readonly suite: RoomSuite | null;
  readonly members: number | null;
  readonly epoch: number | null;
  readonly seq: number | null;
  readonly joined: boolean;
  readonly state: string;
  readonly role: string | null;
  readonly pending?: ReadonlyArray<{ peerId: string; name: string }>;
  readonly rotation?: RotationPolicy;
  /** The key rotation in progress (host). */
  readonly rotating?: RotationView | null;
}

export interface MemberView {
  readonly peerId: string;
  readonly name: string;
  readonly role: string;
  readonly epoch: number;
  readonly online: boolean;
  readonly joinedAt: string;
}

/** A room on this peer as the local API lists it, at `at` (expired join requests left out). */
export function roomView(
  h: RoomHandle,
  self: string,
  rotating: (roomId: string) => RotationView | undefined,
  at: string,
): RoomView {
  const c = ctxOf(h);
  const me = c.members[self];
  return {
    roomId: h.roomId,
    name: c.name,
    topic: c.topic,
    host: c.host,
    hostName: c.hostName,
    policy: c.policy,
    capacity: c.capacity,
    suite: c.suite,
    members: Object.keys(c.members).length,
    epoch: c.epoch,
    seq: c.seq,
    joined: stateOf(h) === 'active' && me !== undefined,
    state: stateOf(h),
    role: me?.role ?? null,
    rotation: c.rotation,
    ...(c.isHost
      ? {
          pending: Object.values(c.pending)
            .filter((p) => !isRequestExpired(c, p.peerId, at))
            .map((p) => ({ peerId: p.peerId, name: p.name })),
          rotating: rotating(h.roomId) ?? null,
        }
      : {}),
  };
}

/** Rooms other peers advertise that this peer is not in, with where to reach their hosts. */
export function discoveredRooms(
  directory: readonly DirectoryPeer[],
  known: ReadonlyMap<string, unknown>,
): Array<RoomView & { urls: readonly string[] }> {
  const out: Array<RoomView & { urls: readonly string[] }> = [];
  for (const p of directory) {
    for (const r of p.rooms) {
      if (known.has(r.roomId)) continue;
      out.push({
        roomId: r.roomId,
        name: r.name,
        topic: '',
        host: p.peerId,
        hostName: p.name ?? '?',
        policy: r.policy as RoomPolicy,
        capacity: null,
        suite: null,
        members: null,
        epoch: null,
        seq: null,
        joined: false,
        state: 'discovered',
        role: null,
        urls: p.urls,
      });
    }
  }
  return out;
}
