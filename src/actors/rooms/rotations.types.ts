/**
 * What the host's room key rotations (`rotations.ts`) offer and share: options, the view the
 * local API and feed show, the `Rotations` interface, and the runtime's record of one running
 * rotation.
 */
import type { ActorRefFrom } from 'xstate';
import { AppError } from '../../errors.js';
import type { rotationMachine, RotationStateName } from '../../machines/rotation.machine.js';
import type { EventStore } from '../../store/event-store.js';
import type { RoomHandle } from './room-handle.js';

export type RotationRef = ActorRefFrom<typeof rotationMachine>;

export interface RotationOptions {
  /** How long to wait for acks before committing without the laggards (default 30 s). */
  readonly deadlineMs?: number;
  /** First retry delay; doubles per attempt (default 500 ms). */
  readonly retryMs?: number;
}

export interface RotationView {
  readonly roomId: string;
  readonly epoch: number;
  readonly state: RotationStateName;
  readonly reason: string;
  readonly acked: number;
  readonly total: number;
  readonly laggards: readonly string[];
}

export interface Rotations {
  /**
   * Start a rotation (or join the running one); resolves with it. Rejects with ERR_NOT_FOUND for
   * a room that is not active, or when the room is deleted before the rotation commits.
   */
  request(h: RoomHandle, reason: string, mandatory: boolean): Promise<RotationView>;
  ack(from: string, roomId: string, epoch: number): void;
  memberRemoved(h: RoomHandle, peerId: string): void;
  /**
   * The room was deleted: cancel its running rotation, drop the queued one (their callers get
   * ERR_NOT_FOUND), retire the committed ones and forget its members' epochs. Idempotent.
   */
  roomDeleted(h: RoomHandle): void;
  /** The rotation in progress for a room (proposed or distributing), if any. */
  running(roomId: string): RotationView | undefined;
  /** The epoch a member is known to hold (acked), or undefined. */
  memberEpoch(roomId: string, peerId: string): number | undefined;
  noteMemberEpoch(roomId: string, peerId: string, epoch: number): void;
  restore(store: EventStore): Promise<number>;
  stats(): { started: number; committed: number; laggards: number };
  close(): void;
}

/** Someone waiting on a rotation's outcome. */
export interface Waiter {
  resolve(v: RotationView): void;
  reject(e: Error): void;
}

/** A rotation in progress, with its timers and its callers' promise. */
export interface Running extends Waiter {
  readonly ref: RotationRef;
  readonly h: RoomHandle;
  readonly timers: Set<NodeJS.Timeout>;
  readonly done: Promise<RotationView>;
}

export const rotationStream = (roomId: string, epoch: number): string =>
  `rotation:${roomId}:${epoch}`;

/** What the callers of a deleted room's rotation get. */
export const roomGone = (roomId: string): AppError =>
  new AppError('ERR_NOT_FOUND', `room ${roomId} was deleted; its key rotation was cancelled`);

export function viewOf(ref: RotationRef): RotationView {
  const snap = ref.getSnapshot();
  const c = snap.context;
  return {
    roomId: c.roomId,
    epoch: c.epoch,
    state: snap.value as RotationStateName,
    reason: c.reason,
    acked: c.acked.length,
    total: c.acked.length + c.pending.length,
    laggards: c.laggards,
  };
}
