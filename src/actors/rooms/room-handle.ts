/**
 * One room on this peer: its actor (stream `room:<roomId>`), the ordered list of sequenced
 * messages (ciphertext, as in the log) and the indexes the hot path needs. Also rebuilds rooms
 * from their recorded streams after a restart.
 */
import { initialTransition, transition, type ActorRefFrom, type AnyMachineSnapshot } from 'xstate';
import {
  roomMachine,
  type RoomContext,
  type RoomEvent,
  type RoomInput,
  type RoomMember,
  type RoomStateName,
} from '../../machines/room.machine.js';
import type { Envelope, MemberWire, RoomWire } from '../../protocol/room.codec.js';
import type { EventStore, RecordedEvent } from '../../store/event-store.js';

export interface StoredMessage {
  readonly seq: number;
  readonly env: Envelope;
  /** Why it does not verify, once checked (null: verified; undefined: not checked yet). */
  verdict?: { readonly code: string; readonly detail: string } | null;
}

export interface RoomHandle {
  readonly roomId: string;
  readonly actor: ActorRefFrom<typeof roomMachine>;
  /** Sequenced messages in increasing `seq` (not necessarily contiguous for a member). */
  readonly messages: StoredMessage[];
  /** `sender|id` → seq: sends are idempotent by message id. */
  readonly byId: Map<string, number>;
  catchingUp: Promise<void> | undefined;
  pollTimer: NodeJS.Timeout | undefined;
}

export const streamOf = (roomId: string): string => `room:${roomId}`;

export function ctxOf(h: RoomHandle): RoomContext {
  return h.actor.getSnapshot().context;
}

export function stateOf(h: RoomHandle): RoomStateName {
  return h.actor.getSnapshot().value as RoomStateName;
}

export function newHandle(actor: ActorRefFrom<typeof roomMachine>, roomId: string): RoomHandle {
  return {
    roomId,
    actor,
    messages: [],
    byId: new Map(),
    catchingUp: undefined,
    pollTimer: undefined,
  };
}

export function addMessage(h: RoomHandle, m: StoredMessage): void {
  const last = h.messages.at(-1);
  if (last !== undefined && m.seq <= last.seq) return;
  h.messages.push(m);
  h.byId.set(`${m.env.sender}|${m.env.id}`, m.seq);
}

/** Messages with `seq > after`, at most `limit`. */
export function messagesAfter(h: RoomHandle, after: number, limit: number): StoredMessage[] {
  let lo = 0;
  let hi = h.messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((h.messages[mid] as StoredMessage).seq <= after) lo = mid + 1;
    else hi = mid;
  }
  return h.messages.slice(lo, lo + limit);
}

export function messageBySeq(h: RoomHandle, seq: number): StoredMessage | undefined {
  const [m] = messagesAfter(h, seq - 1, 1);
  return m?.seq === seq ? m : undefined;
}

/** A message's facts as the machine events carry them. */
export function envelopeOf(
  e: {
    roomId?: string;
    id: string;
    sender: string;
    epoch: number;
    sentAt: string;
    suite: Envelope['suite'];
    ct: string;
    sig: string;
  },
  roomId: string,
): Envelope {
  return {
    roomId,
    id: e.id,
    sender: e.sender,
    epoch: e.epoch,
    sentAt: e.sentAt,
    suite: e.suite,
    ct: e.ct,
    sig: e.sig,
  };
}

export interface RestoredRoom {
  readonly roomId: string;
  readonly input: RoomInput;
  readonly messages: StoredMessage[];
  /** Every member key the stream ever named (members who left still signed old messages). */
  readonly members: RoomMember[];
}

/** Fold each recorded `room:` stream through the machine: the input to start it again from. */
export async function restoreRooms(store: EventStore): Promise<RestoredRoom[]> {
  const byStream = new Map<string, RecordedEvent[]>();
  let after = 0;
  for (;;) {
    const page = await store.readAll({ after, limit: 5_000, streamPrefix: 'room:' });
    for (const e of page) {
      const list = byStream.get(e.stream) ?? [];
      list.push(e);
      byStream.set(e.stream, list);
    }
    if (page.length < 5_000) break;
    after = (page.at(-1) as RecordedEvent).position;
  }
  const out: RestoredRoom[] = [];
  for (const [stream, events] of byStream) {
    let snap: AnyMachineSnapshot | undefined;
    const messages: StoredMessage[] = [];
    const members = new Map<string, RoomMember>();
    const roomId = stream.slice('room:'.length);
    for (const e of events) {
      if (e.meta.machine !== 'room') continue;
      if (e.type === 'xstate.init') {
        [snap] = initialTransition(roomMachine, (e.data as { input: RoomInput }).input);
        for (const m of Object.values((snap.context as RoomContext).members))
          members.set(m.peerId, m);
        continue;
      }
      if (!snap) continue;
      const ev = e.data as RoomEvent;
      [snap] = transition(roomMachine, snap as never, ev);
      if (ev.type === 'message.sequence' || ev.type === 'message.receive') {
        messages.push({ seq: ev.seq, env: envelopeOf(ev, roomId) });
        continue;
      }
      for (const m of Object.values((snap.context as RoomContext).members))
        members.set(m.peerId, m);
    }
    if (!snap) continue;
    const ctx = snap.context as RoomContext;
    out.push({
      roomId,
      input: { stream, restore: { ...ctx, state: snap.value as RoomStateName } },
      messages,
      members: [...members.values()],
    });
  }
  return out;
}

// ---- a room as the wire shows it ----

export function wireMembers(ctx: { members: Readonly<Record<string, RoomMember>> }): MemberWire[] {
  return Object.values(ctx.members).map((m) => ({
    peerId: m.peerId,
    name: m.name,
    role: m.role,
    kind: m.kind,
    publicKey: m.publicKey,
  }));
}

export function roomWire(h: RoomHandle): RoomWire {
  const c = ctxOf(h);
  return {
    roomId: c.roomId,
    name: c.name,
    topic: c.topic,
    policy: c.policy,
    capacity: c.capacity,
    suite: c.suite,
    host: c.host,
    hostName: c.hostName,
    rotation: c.rotation,
    epoch: c.epoch,
    seq: c.seq,
  };
}
