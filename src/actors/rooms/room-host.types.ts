/**
 * What the host half of rooms offers (`room-host.ts`): the calls `rooms.ts`, the member side and
 * the request router make on the rooms this peer hosts.
 */
import type { RoomPolicy, RoomSuite, RotationPolicy } from '../../machines/room.types.js';
import type {
  AdminRequest,
  Envelope,
  FetchResult,
  JoinGrant,
  JoinRequest,
  RoomWire,
} from '../../protocol/room.codec.js';
import type { RoomHandle } from './room-handle.js';
import type { RotationView } from './rotations.js';

export interface CreateRoomOptions {
  readonly name: string;
  readonly topic?: string;
  readonly policy: RoomPolicy;
  readonly password?: string;
  readonly capacity: number;
  readonly suite: RoomSuite;
  readonly rotation?: Partial<RotationPolicy>;
}

export interface RoomHost {
  create(o: CreateRoomOptions): Promise<RoomHandle>;
  join(
    from: string,
    req: JoinRequest,
  ): Promise<{ state: 'joined'; grant: JoinGrant } | { state: 'pending'; room: RoomWire }>;
  leave(from: string, roomId: string): Promise<void>;
  fetch(from: string, roomId: string, after: number, limit: number): Promise<FetchResult>;
  /**
   * Sequence a message; the same (sender, id) again answers the first result, marked `repeated`.
   */
  sequence(from: string, env: Envelope): { seq: number; repeated?: true };
  /**
   * Send an already sequenced message once more to the members whose link is up (a repeat: the
   * fan-out that carried it missed its sender, maybe others). Past the in-memory history it is in
   * the log only: members fetch it on their next gap.
   */
  resend(roomId: string, seq: number): void;
  admin(from: string, req: AdminRequest): Promise<unknown>;
  /** Renew the room key (joins a running rotation); a removal's rotation is `mandatory`. */
  rotate(h: RoomHandle, reason: string, mandatory?: boolean): Promise<RotationView>;
  /** Rotate now; answers at commit, or with the progress after a short wait. */
  rotateReport(h: RoomHandle): Promise<RotationView>;
  /** Start rotations that a room's time policy asks for. */
  checkPolicies(): void;
  remove(h: RoomHandle, by: string, peerId: string, ban: boolean): Promise<void>;
  delete(h: RoomHandle): Promise<void>;
  stats(): { sequenced: number; fanout: number };
}
