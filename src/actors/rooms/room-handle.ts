/**
 * One room on this peer: its actor (stream `room:<roomId>`), the ordered list of sequenced
 * messages (ciphertext, as in the log) and the indexes the hot path needs. Also rebuilds rooms
 * from their recorded streams after a restart.
 */
import { initialTransition, transition, type ActorRefFrom, type AnyMachineSnapshot } from 'xstate';
import { roomMachine } from '../../machines/room.machine.js';
import type {
  RoomContext,
  RoomEvent,
  RoomInput,
  RoomMember,
  RoomStateName,
} from '../../machines/room.types.js';
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
  /**
   * The newest sequenced messages, in increasing `seq` (not necessarily contiguous for a member):
   * at most `historyLimit` (plus a 10 % slack, trimmed in one go). Older ones are in the log only.
   */
  readonly messages: StoredMessage[];
  /** How many messages `messages` keeps. */
  readonly historyLimit: number;
  /** Every message with `seq <= floor` has left `messages` (0: none has). */
  floor: number;
  /**
   * sender → message id → seq: sends are idempotent by message id. An entry lives `DEDUPE_MS` past
   * the message's time (the host refuses sends whose `sentAt` is further off), however many
   * messages came since: a retry is never sequenced twice, and memory stays bounded by traffic per
   * window. Keyed by the strings the envelopes already hold (no `sender|id` string per message:
   * a busy room remembers a few hundred thousand ids).
   */
  readonly byId: Map<string, Map<string, number>>;
  /** `byId` entries in the order they were added, with the time (ms) each may be forgotten. */
  readonly dedupe: {
    senders: string[];
    ids: string[];
    seqs: number[];
    until: number[];
    head: number;
  };
  catchingUp: Promise<void> | undefined;
  pollTimer: NodeJS.Timeout | undefined;
}

/** How far a send's `sentAt` may be from the host's clock (either way). */
export const DEDUPE_MS = 120_000;
/** Ids are remembered this much longer than sends are accepted: no edge where both fail. */
const DEDUPE_MARGIN_MS = 10_000;
/** Messages a peer keeps in memory per room, by default (`conclave serve --room-history`). */
export const DEFAULT_HISTORY_LIMIT = 10_000;

export const streamOf = (roomId: string): string => `room:${roomId}`;

export function ctxOf(h: RoomHandle): RoomContext {
  return h.actor.getSnapshot().context;
}

export function stateOf(h: RoomHandle): RoomStateName {
  return h.actor.getSnapshot().value as RoomStateName;
}

export function newHandle(
  actor: ActorRefFrom<typeof roomMachine>,
  roomId: string,
  historyLimit = DEFAULT_HISTORY_LIMIT,
): RoomHandle {
  return {
    roomId,
    actor,
    messages: [],
    historyLimit: Math.max(1, historyLimit),
    floor: 0,
    byId: new Map(),
    dedupe: { senders: [], ids: [], seqs: [], until: [], head: 0 },
    catchingUp: undefined,
    pollTimer: undefined,
  };
}

/**
 * Keep a sequenced message (ignored unless it is newer than the last kept), remember its id for
 * `DEDUPE_MS` past its time, and forget what is past the history limit or the dedupe window.
 */
export function addMessage(h: RoomHandle, m: StoredMessage, nowMs = Date.now()): void {
  const last = h.messages.at(-1);
  if (last !== undefined && m.seq <= last.seq) return;
  h.messages.push(m);
  // The host takes a send while its stamp is within DEDUPE_MS of the host's clock, so its id is
  // remembered until DEDUPE_MS (plus a margin) past that stamp: a retry is found, or refused for
  // its stale stamp — never sequenced twice. Ids whose window is over (a restart replaying old
  // history) are not remembered at all. Stamps further ahead are capped (the host refuses them).
  const sentAt = Date.parse(m.env.sentAt);
  const stamp = Number.isFinite(sentAt) ? Math.min(sentAt, nowMs + DEDUPE_MS) : nowMs;
  const until = stamp + DEDUPE_MS + DEDUPE_MARGIN_MS;
  if (until > nowMs) {
    const { sender, id } = m.env;
    let ids = h.byId.get(sender);
    if (!ids) h.byId.set(sender, (ids = new Map<string, number>()));
    ids.set(id, m.seq);
    h.dedupe.senders.push(sender);
    h.dedupe.ids.push(id);
    h.dedupe.seqs.push(m.seq);
    h.dedupe.until.push(until);
  }
  forgetExpired(h, nowMs);
  if (h.messages.length > h.historyLimit + Math.ceil(h.historyLimit / 10)) {
    const gone = h.messages.splice(0, h.messages.length - h.historyLimit);
    h.floor = (gone.at(-1) as StoredMessage).seq;
  }
}

/** The seq a sender's message id was sequenced as, while its id is remembered. */
export function seqOfId(h: RoomHandle, sender: string, id: string): number | undefined {
  return h.byId.get(sender)?.get(id);
}

function forgetExpired(h: RoomHandle, nowMs: number): void {
  const d = h.dedupe;
  while (d.head < d.ids.length && (d.until[d.head] as number) <= nowMs) {
    const sender = d.senders[d.head] as string;
    const id = d.ids[d.head] as string;
    const ids = h.byId.get(sender);
    // Only this entry's mapping: an id added again later (a member whose host had forgotten it)
    // keeps its newer window.
    if (ids?.get(id) === d.seqs[d.head]) ids?.delete(id);
    if (ids?.size === 0) h.byId.delete(sender);
    d.head++;
  }
  if (d.head > 1024 && d.head * 2 > d.ids.length) {
    d.senders.splice(0, d.head);
    d.ids.splice(0, d.head);
    d.seqs.splice(0, d.head);
    d.until.splice(0, d.head);
    d.head = 0;
  }
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
    batch?: Envelope['batch'];
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
    ...(e.batch ? { batch: { i: e.batch.i, n: e.batch.n, path: e.batch.path } } : {}),
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

/** Sorted member lists per members object (the room machine replaces it on every change). */
const sortedMembers = new WeakMap<object, { self: string; ids: readonly string[] }>();

/**
 * The members other than `self`, sorted — the order a rotation lists them in. Kept per members
 * object, so a rotation of an unchanged room (policy, manual) does not sort 1000 ids again.
 *
 * @example
 * ref.send({ type: 'rotation.start', members: othersSorted(h, core.self), deadline, at });
 */
export function othersSorted(h: RoomHandle, self: string): readonly string[] {
  const members = ctxOf(h).members;
  const known = sortedMembers.get(members);
  if (known?.self === self) return known.ids;
  const ids = Object.keys(members)
    .filter((p) => p !== self)
    .sort();
  sortedMembers.set(members, { self, ids });
  return ids;
}
