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
import {
  admit,
  emptyContext,
  isRequestExpired,
  joinRefusal,
  roomInfoOf,
  without,
} from './room.context.js';
import {
  MAX_INVITES,
  MAX_PENDING,
  type RoomContext,
  type RoomEvent,
  type RoomInput,
  type RoomStateName,
} from './room.types.js';

/**
 * 2: approval requests expire (`member.expire`). Expiry is an event, not a guard on approval: the
 * runtime drops an expired request (recording `member.expire`) before it would approve it, so a
 * log recorded before expiry existed — an approval a day after the request — replays the same.
 * 3: the host records when each member was admitted (`admitted`: epoch and sequence at its join
 * or approval), derived from the same events; a fetch reads nothing from before it. A room that
 * keeps no past epoch (`keepEpochs` 0) refuses the previous epoch at every commit.
 */
export const ROOM_MACHINE_VERSION = 3;

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
    isExpiredRequest: ({ context, event }) =>
      event.type === 'member.expire' &&
      context.isHost &&
      isRequestExpired(context, event.peerId, event.at),
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
        admitted: admit(context, event.member.peerId),
        pending: without(context.pending, event.member.peerId),
        invites:
          event.inviteHash === undefined
            ? context.invites
            : without(context.invites, event.inviteHash),
      };
    }),
    addPending: assign(({ context, event }) => {
      if (event.type !== 'member.request') return {};
      // `joinedAt` of a request is when it was made (asking again restarts its time to live).
      const request = { ...event.member, joinedAt: event.at };
      return { pending: { ...context.pending, [event.member.peerId]: request } };
    }),
    dropRequest: assign(({ context, event }) =>
      event.type === 'member.expire' ? { pending: without(context.pending, event.peerId) } : {},
    ),
    approve: assign(({ context, event }) => {
      if (event.type !== 'member.approve') return {};
      const p = context.pending[event.peerId];
      if (!p) return {};
      return {
        members: { ...context.members, [p.peerId]: { ...p, role: 'member', joinedAt: event.at } },
        admitted: admit(context, p.peerId),
        pending: without(context.pending, event.peerId),
      };
    }),
    removeMember: assign(({ context, event }) => {
      if (event.type !== 'member.leave' && event.type !== 'member.remove') return {};
      const ban = event.type === 'member.remove' && event.ban;
      return {
        members: without(context.members, event.peerId),
        admitted: without(context.admitted, event.peerId),
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
    setEpoch: assign(({ context, event }) => {
      if (event.type === 'epoch.learn') return { epoch: event.epoch };
      if (event.type !== 'epoch.advance') return {};
      // The previous epoch stays open to senders only while its key is kept: with no past epochs
      // kept (`keepEpochs` 0) its key is shredded at this commit, and a message sealed under it
      // would be accepted and acknowledged but unreadable by anyone; refused, it is re-sealed.
      const closesOld = event.mandatory || context.rotation.keepEpochs === 0;
      return {
        epoch: event.epoch,
        minSendEpoch: closesOld ? event.epoch : event.epoch - 1,
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
      ? // A room last restored by v2 has no `admitted` in its init record: none known (fetches
        // then answer from the member's cursor, as v2 did).
        (({ state, ...ctx }) => ({
          ...ctx,
          admitted: (ctx as Partial<RoomContext>).admitted ?? {},
          stream: input.stream,
          restoredState: state,
        }))(input.restore)
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
        'member.expire': { guard: 'isExpiredRequest', actions: 'dropRequest' },
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
