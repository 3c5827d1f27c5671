/**
 * The host's fan-out: messages sequenced in one tick go out together, once the log holds them
 * durably, to every member whose link is up (the others poll), split below 40 KB. A small batch
 * is sealed per member (the session layer caches the JSON by object, so only the seal is per
 * member); a batch of `SIGNED_FRAME_MIN` or more is one host-signed room frame, the same bytes for
 * everyone — a member then checks one signature per batch instead of the host sealing per member.
 */
import { sign, SignatureDomains } from '../../crypto/signature.js';
import { encodeRoomFrame, roomBatchBody, type Sequenced } from '../../protocol/room.codec.js';
import { ctxOf, stateOf, type RoomHandle } from './room-handle.js';
import type { RoomsCore } from './rooms-core.js';

/** Largest JSON we put in one push or fetch answer (sealed bodies cap near 46 KiB). */
const MAX_BATCH_CHARS = 40_000;
/** Batches of at least this many messages go out as one host-signed frame. */
export const SIGNED_FRAME_MIN = 16;

function sizeOf(m: Sequenced): number {
  return m.env.ct.length + m.env.sig.length + 300;
}

/** Split messages into batches that fit one sealed frame. */
export function batches(msgs: readonly Sequenced[]): Sequenced[][] {
  const out: Sequenced[][] = [];
  let cur: Sequenced[] = [];
  let size = 0;
  for (const m of msgs) {
    const s = sizeOf(m);
    if (cur.length > 0 && (size + s > MAX_BATCH_CHARS || cur.length >= 500)) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(m);
    size += s;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export interface FanOut {
  /** Queue a sequenced message for this tick's flush (again: one a member may have missed). */
  enqueue(h: RoomHandle, m: Sequenced): void;
  /** Deliveries handed to links so far (messages × recipients). */
  deliveries(): number;
}

export function createFanOut(core: RoomsCore): FanOut {
  const { deps, self } = core;
  /** Messages queued this tick, per room, by seq (one queued twice goes out once). */
  const outbound = new Map<string, Map<number, Sequenced>>();
  let flushScheduled = false;
  let fanout = 0;

  /** Recipients are the members at flush time. */
  function flush(): void {
    flushScheduled = false;
    const ready = [...outbound];
    outbound.clear();
    // Members see (and senders are acknowledged by) only what is durable in the host's log.
    void core
      .durable()
      .then(() => {
        for (const [roomId, msgs] of ready) fanOut(roomId, [...msgs.values()]);
      })
      .catch(() => undefined);
  }

  function fanOut(roomId: string, msgs: readonly Sequenced[]): void {
    const h = core.rooms.get(roomId);
    if (!h || stateOf(h) !== 'active') return;
    const recipients = Object.keys(ctxOf(h).members).filter(
      (p) => p !== self && deps.sessions.isLinkUp(p),
    );
    if (recipients.length === 0) return;
    const sessions = deps.sessions;
    for (const batch of batches(msgs)) {
      fanout += batch.length * recipients.length;
      if (sessions.sendFrame && batch.length >= (deps.signedFrameMin ?? SIGNED_FRAME_MIN)) {
        // A big batch is encoded and signed once, and every member gets the same bytes: one
        // signature check per batch is cheap per message. A small one (light load) is sealed
        // per member instead — a session seal is far cheaper to open than a signature to check.
        const body = roomBatchBody({ roomId, msgs: batch });
        const frame = encodeRoomFrame(
          body,
          sign(deps.identity.privateKey, SignatureDomains.roomBatch, [body]),
        );
        // A link that takes no frame (it closed, or was cut as a slow reader) gets the batch
        // pushed instead, the way a link-less member is reached, rather than a gap.
        const missed = recipients.filter((peerId) => !sessions.sendFrame?.(peerId, frame));
        if (missed.length > 0) pushTo(missed, roomId, batch);
        continue;
      }
      pushTo(recipients, roomId, batch);
    }
  }

  /** One batch sealed per recipient (the session layer caches the JSON of `inner`). */
  function pushTo(peers: readonly string[], roomId: string, batch: Sequenced[]): void {
    const inner = { type: 'room.msgs', roomId, msgs: batch };
    for (const peerId of peers) void deps.sessions.push(peerId, inner).catch(() => undefined);
  }

  function enqueue(h: RoomHandle, m: Sequenced): void {
    const queued = outbound.get(h.roomId);
    if (queued) queued.set(m.seq, m);
    else outbound.set(h.roomId, new Map([[m.seq, m]]));
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  }

  return { enqueue, deliveries: () => fanout };
}
