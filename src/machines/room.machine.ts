/**
 * One room, as seen by one peer: its host (the owner, who authorizes joins, holds the member list,
 * starts epochs and sequences messages) or a member (who mirrors the list, learns epochs and
 * records the host's sequence). Stream `room:<roomId>`.
 *
 * The machine holds facts only: peer ids, public keys, names, policy, token *hashes*, counters.
 * Keys, passwords and plaintext never enter it; message events carry ciphertext and signatures,
 * so the log holds everything a restarted peer needs and nothing a reader of the log could use.
 *
 * Pure: every time and every decision input arrives inside an event, so a recorded stream replays
 * to the same states. A restarted peer starts the actor from `input.restore` (the context folded
 * from its stream), and the `boot` state moves to the recorded state at once.
 */
import { assign, setup } from 'xstate';

export const ROOM_MACHINE_VERSION = 1;

export type RoomPolicy = 'open' | 'password' | 'invite' | 'approval';
export type RoomRole = 'owner' | 'admin' | 'member';
export type RoomSuite = 'aes-256-gcm' | 'aes-256-cbc-hmac-sha256';
export type RoomStateName = 'new' | 'pending' | 'active' | 'left' | 'deleted';

export interface RoomMember {
  readonly peerId: string;
  readonly name: string;
  readonly role: RoomRole;
  readonly kind: 'ed25519' | 'rsa';
  /** SPKI, base64url: its SHA-256 is the peer id, so the host cannot swap it. */
  readonly publicKey: string;
  readonly joinedAt: string;
}

/** When the host renews the room key by itself, and how many past epochs stay readable. */
export interface RotationPolicy {
  /** Rotate after this many messages in one epoch (null: only the per-key limit). */
  readonly everyMessages: number | null;
  /** Rotate after this many minutes in one epoch (null: never by time). */
  readonly everyMinutes: number | null;
  /** Past epochs whose keys are kept (to read late and old messages); older keys are shredded. */
  readonly keepEpochs: number;
}

export interface RoomInfo {
  readonly roomId: string;
  readonly name: string;
  readonly topic: string;
  readonly policy: RoomPolicy;
  readonly capacity: number;
  readonly suite: RoomSuite;
  readonly host: string;
  readonly hostName: string;
  readonly rotation: RotationPolicy;
}

export interface RoomContext extends RoomInfo {
  readonly stream: string;
  readonly self: string;
  readonly isHost: boolean;
  /** Where the host answered (members reconnect there after a restart). */
  readonly hostUrls: readonly string[];
  readonly members: Readonly<Record<string, RoomMember>>;
  readonly banned: Readonly<Record<string, string>>;
  readonly pending: Readonly<Record<string, Omit<RoomMember, 'role'>>>;
  /** Invite token hash → expiry; a used invite is deleted. */
  readonly invites: Readonly<Record<string, { readonly expiresAt: string; readonly by: string }>>;
  readonly epoch: number;
  /** Highest sequence recorded here (host: assigned; member: received in order). */
  readonly seq: number;
  /** Host: the oldest epoch a member may still send in (a removal makes it the current one). */
  readonly minSendEpoch: number;
  /** Host: messages sequenced in the current epoch, and when it began (rotation policy). */
  readonly epochMessages: number;
  readonly epochStartedAt: string;
  readonly removedReason: string | null;
  readonly restoredState: RoomStateName | null;
}

export type RoomInput =
  | { readonly stream: string; readonly roomId: string; readonly self: string }
  | {
      readonly stream: string;
      readonly restore: RoomContext & { readonly state: RoomStateName };
    };

interface MessageFacts {
  seq: number;
  id: string;
  sender: string;
  epoch: number;
  sentAt: string;
  suite: RoomSuite;
  ct: string;
  sig: string;
  /** Leaf `i` of `n` under the sender's batch signature (protocol §5.3). */
  batch?: { i: number; n: number; path: string };
  at: string;
}

export type RoomEvent =
  | ({ type: 'room.created'; owner: RoomMember; at: string } & RoomInfo)
  | {
      type: 'room.joined';
      room: RoomInfo;
      members: RoomMember[];
      epoch: number;
      /** The host's sequence when we joined: our history starts after it. */
      seq: number;
      hostUrls: string[];
      at: string;
    }
  | { type: 'room.pending'; room: RoomInfo; hostUrls: string[]; at: string }
  | { type: 'room.left'; reason: 'left' | 'kicked' | 'banned' | 'deleted'; at: string }
  | { type: 'room.deleted'; at: string }
  | {
      type: 'member.join';
      member: RoomMember;
      via: RoomPolicy | 'owner';
      inviteHash?: string;
      at: string;
    }
  | { type: 'member.request'; member: Omit<RoomMember, 'role'>; at: string }
  | { type: 'member.approve'; peerId: string; by: string; at: string }
  | { type: 'member.leave'; peerId: string; at: string }
  | { type: 'member.remove'; peerId: string; by: string; ban: boolean; at: string }
  | { type: 'member.role'; peerId: string; role: 'admin' | 'member'; by: string; at: string }
  | { type: 'members.sync'; members: RoomMember[]; at: string }
  | { type: 'invite.create'; hash: string; expiresAt: string; by: string; at: string }
  | { type: 'epoch.advance'; epoch: number; reason: string; mandatory: boolean; at: string }
  | { type: 'epoch.learn'; epoch: number; at: string }
  | ({ type: 'message.sequence' } & MessageFacts)
  | ({ type: 'message.receive' } & MessageFacts)
  /** Member: the host no longer holds messages up to `through` (its history window moved on). */
  | { type: 'messages.skip'; through: number; at: string };

/** Most open invites a room keeps (expired ones are pruned when a new one is made). */
export const MAX_INVITES = 256;
/** Most pending approval requests a room keeps. */
export const MAX_PENDING = 256;

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

function without<T>(rec: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const { [key]: _gone, ...rest } = rec;
  return rest;
}

function emptyContext(input: Extract<RoomInput, { roomId: string }>): RoomContext {
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

function roomInfoOf(r: RoomInfo): RoomInfo {
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

const restoredTo = (state: RoomStateName) => ({
  guard: ({ context }: { context: RoomContext }) => context.restoredState === state,
  target: state,
});

export const roomMachine = setup({
  types: {
    input: {} as RoomInput,
    context: {} as RoomContext,
    events: {} as RoomEvent,
  },
  guards: {
    canJoin: ({ context, event }) =>
      event.type === 'member.join' &&
      context.isHost &&
      event.via !== 'approval' &&
      joinRefusal(context, event.member.peerId, event.via, event.inviteHash, event.at) === null,
    canRequest: ({ context, event }) =>
      event.type === 'member.request' &&
      context.isHost &&
      context.policy === 'approval' &&
      context.members[event.member.peerId] === undefined &&
      context.banned[event.member.peerId] === undefined &&
      (context.pending[event.member.peerId] !== undefined ||
        Object.keys(context.pending).length < MAX_PENDING),
    canApprove: ({ context, event }) =>
      event.type === 'member.approve' &&
      context.pending[event.peerId] !== undefined &&
      joinRefusal(context, event.peerId, 'approval', undefined, event.at) === null,
    canRemove: ({ context, event }) =>
      (event.type === 'member.leave' || event.type === 'member.remove') &&
      context.isHost &&
      event.peerId !== context.host &&
      (context.members[event.peerId] !== undefined ||
        (event.type === 'member.remove' && event.ban) ||
        context.pending[event.peerId] !== undefined),
    canSetRole: ({ context, event }) =>
      event.type === 'member.role' &&
      event.peerId !== context.host &&
      context.members[event.peerId] !== undefined,
    isNextEpoch: ({ context, event }) =>
      event.type === 'epoch.advance' && event.epoch === context.epoch + 1,
    isLaterEpoch: ({ context, event }) =>
      event.type === 'epoch.learn' && !context.isHost && event.epoch > context.epoch,
    isNextSeq: ({ context, event }) =>
      ((event.type === 'message.sequence' && context.isHost) ||
        (event.type === 'message.receive' && !context.isHost)) &&
      event.seq === context.seq + 1,
    isSkipForward: ({ context, event }) =>
      event.type === 'messages.skip' && !context.isHost && event.through > context.seq,
    isHostSide: ({ context }) => context.isHost,
    isMemberSide: ({ context }) => !context.isHost,
  },
  actions: {
    create: assign(({ context, event }) => {
      if (event.type !== 'room.created') return {};
      return {
        ...roomInfoOf(event),
        isHost: true,
        members: { [event.owner.peerId]: event.owner },
        epoch: 1,
        minSendEpoch: 1,
        epochStartedAt: event.at,
        seq: context.seq,
      };
    }),
    joined: assign(({ event }) => {
      if (event.type !== 'room.joined') return {};
      return {
        ...roomInfoOf(event.room),
        isHost: false,
        hostUrls: event.hostUrls,
        members: Object.fromEntries(event.members.map((m) => [m.peerId, m])),
        epoch: event.epoch,
        seq: event.seq,
        removedReason: null,
      };
    }),
    pendingJoin: assign(({ event }) => {
      if (event.type !== 'room.pending') return {};
      return { ...roomInfoOf(event.room), isHost: false, hostUrls: event.hostUrls };
    }),
    left: assign(({ event }) =>
      event.type === 'room.left' ? { removedReason: event.reason } : {},
    ),
    addMember: assign(({ context, event }) => {
      if (event.type !== 'member.join') return {};
      return {
        members: { ...context.members, [event.member.peerId]: event.member },
        pending: without(context.pending, event.member.peerId),
        invites:
          event.inviteHash === undefined
            ? context.invites
            : without(context.invites, event.inviteHash),
      };
    }),
    addPending: assign(({ context, event }) => {
      if (event.type !== 'member.request') return {};
      return { pending: { ...context.pending, [event.member.peerId]: event.member } };
    }),
    approve: assign(({ context, event }) => {
      if (event.type !== 'member.approve') return {};
      const p = context.pending[event.peerId];
      if (!p) return {};
      return {
        members: { ...context.members, [p.peerId]: { ...p, role: 'member', joinedAt: event.at } },
        pending: without(context.pending, event.peerId),
      };
    }),
    removeMember: assign(({ context, event }) => {
      if (event.type !== 'member.leave' && event.type !== 'member.remove') return {};
      const ban = event.type === 'member.remove' && event.ban;
      return {
        members: without(context.members, event.peerId),
        pending: without(context.pending, event.peerId),
        banned: ban ? { ...context.banned, [event.peerId]: event.at } : context.banned,
      };
    }),
    setRole: assign(({ context, event }) => {
      if (event.type !== 'member.role') return {};
      const m = context.members[event.peerId];
      if (!m) return {};
      return { members: { ...context.members, [m.peerId]: { ...m, role: event.role } } };
    }),
    syncMembers: assign(({ event }) =>
      event.type === 'members.sync'
        ? { members: Object.fromEntries(event.members.map((m) => [m.peerId, m])) }
        : {},
    ),
    addInvite: assign(({ context, event }) => {
      if (event.type !== 'invite.create') return {};
      const now = Date.parse(event.at);
      const live = Object.entries(context.invites).filter(([, i]) => Date.parse(i.expiresAt) > now);
      const kept = live.slice(Math.max(0, live.length - (MAX_INVITES - 1)));
      return {
        invites: {
          ...Object.fromEntries(kept),
          [event.hash]: { expiresAt: event.expiresAt, by: event.by },
        },
      };
    }),
    setEpoch: assign(({ event }) => {
      if (event.type === 'epoch.learn') return { epoch: event.epoch };
      if (event.type !== 'epoch.advance') return {};
      return {
        epoch: event.epoch,
        minSendEpoch: event.mandatory ? event.epoch : event.epoch - 1,
        epochMessages: 0,
        epochStartedAt: event.at,
      };
    }),
    setSeq: assign(({ context, event }) => {
      if (event.type === 'message.receive') return { seq: event.seq };
      if (event.type === 'messages.skip') return { seq: event.through };
      if (event.type !== 'message.sequence') return {};
      return {
        seq: event.seq,
        epochMessages: context.epochMessages + (event.epoch === context.epoch ? 1 : 0),
      };
    }),
  },
}).createMachine({
  id: 'room',
  context: ({ input }) =>
    'restore' in input
      ? (({ state, ...ctx }) => ({ ...ctx, stream: input.stream, restoredState: state }))(
          input.restore,
        )
      : emptyContext(input),
  initial: 'boot',
  states: {
    boot: {
      always: [
        restoredTo('active'),
        restoredTo('pending'),
        restoredTo('left'),
        restoredTo('deleted'),
        { target: 'new' },
      ],
    },
    new: {
      on: {
        'room.created': { target: 'active', actions: 'create' },
        'room.joined': { target: 'active', actions: 'joined' },
        'room.pending': { target: 'pending', actions: 'pendingJoin' },
      },
    },
    pending: {
      on: {
        'room.joined': { target: 'active', actions: 'joined' },
        'room.pending': { actions: 'pendingJoin' },
        'room.left': { target: 'left', actions: 'left' },
      },
    },
    active: {
      on: {
        'member.join': { guard: 'canJoin', actions: 'addMember' },
        'member.request': { guard: 'canRequest', actions: 'addPending' },
        'member.approve': { guard: 'canApprove', actions: 'approve' },
        'member.leave': { guard: 'canRemove', actions: 'removeMember' },
        'member.remove': { guard: 'canRemove', actions: 'removeMember' },
        'member.role': { guard: 'canSetRole', actions: 'setRole' },
        'invite.create': { guard: 'isHostSide', actions: 'addInvite' },
        'epoch.advance': { guard: 'isNextEpoch', actions: 'setEpoch' },
        'epoch.learn': { guard: 'isLaterEpoch', actions: 'setEpoch' },
        'message.sequence': { guard: 'isNextSeq', actions: 'setSeq' },
        'message.receive': { guard: 'isNextSeq', actions: 'setSeq' },
        'messages.skip': { guard: 'isSkipForward', actions: 'setSeq' },
        'members.sync': { guard: 'isMemberSide', actions: 'syncMembers' },
        'room.joined': { guard: 'isMemberSide', actions: 'joined' },
        'room.left': { guard: 'isMemberSide', target: 'left', actions: 'left' },
        'room.deleted': { guard: 'isHostSide', target: 'deleted' },
      },
    },
    left: {
      on: {
        'room.joined': { target: 'active', actions: 'joined' },
        'room.pending': { target: 'pending', actions: 'pendingJoin' },
      },
    },
    deleted: { type: 'final' },
  },
});
