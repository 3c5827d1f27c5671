/**
 * Pushes for a requester without a link (protocol §3.6): the responder queues them numbered but not
 * yet sealed; the requester's sealed `POST /poll {ack}` acknowledges the last number it received and
 * is answered with as many of the following frames as fit one sealed answer, `more` when others
 * wait. A push is sealed only when it first goes out (in an answer, or on a new link): sealing takes
 * the next seq of the push chain, and frames sealed when queued then dropped from a full queue would
 * leave a gap past the requester's skip limit (§3.4), after which nothing opens until a re-key.
 * Once sealed, a frame is sent again as the same bytes until it is acknowledged, so an answer lost
 * on the way is sent again, and a copy that did arrive is refused by the requester's replay window;
 * the numbers let the requester drop a frame it already has. A queue past `MAX_OUTBOX` drops its
 * oldest frames: `enqueue` says how many, and answers carry the session's running total as
 * `dropped`, so the requester learns what it missed. Pure apart from the seal function it is given:
 * no I/O, no clock.
 */
import { AppError } from '../../errors.js';
import {
  encodeInnerPush,
  MAX_INNER_BYTES,
  PUSH_HEADER_LENGTH,
  SEALED_TAG_LENGTH,
  type InnerPush,
} from '../../protocol/sealed.codec.js';

/** Seals a push under the session's keys, taking the next seq of its push chain (`sealPush`). */
export type SealPush = (push: InnerPush) => Buffer;

/**
 * A push waiting for a poll, numbered from 1 per session. It is kept as it was pushed (its JSON
 * bytes are cached by identity, `encodeInnerPush`, so a later seal writes the bytes measured here).
 */
export interface QueuedPush {
  readonly n: number;
  readonly push: InnerPush;
  /** Bytes of its sealed frame, known before sealing: the push's JSON, the header and the tag. */
  readonly size: number;
  /** Its sealed frame, once it went out: sent again as these bytes, never sealed twice. */
  frame?: Buffer;
}

/** Most frames kept for a requester that polls; beyond it the oldest is dropped. */
export const MAX_OUTBOX = 256;

/**
 * Room for the rest of the answer's inner JSON:
 * `{"status":200,"body":{"frames":[…],"first":<n>,"more":false,"dropped":<n>}}` is at most 100
 * bytes (both numbers safe integers).
 */
const ANSWER_OVERHEAD = 128;
/** Bytes of base64url text (plus quotes and comma) one poll answer may carry. */
const POLL_BUDGET = MAX_INNER_BYTES - ANSWER_OVERHEAD;
const costOf = (frameBytes: number): number => Math.ceil((frameBytes * 4) / 3) + 3;

/** Largest sealed frame one poll answer can carry (35 229 bytes; a link carries 64 KiB). */
export const MAX_POLLED_FRAME_BYTES = Math.floor(((POLL_BUDGET - 3) * 3) / 4);
/** Largest push payload (inner JSON bytes) that may wait for a poll. */
export const MAX_POLLED_PUSH_BYTES =
  MAX_POLLED_FRAME_BYTES - PUSH_HEADER_LENGTH - SEALED_TAG_LENGTH;

/**
 * The body of a poll answer. `first` and `more` are absent from peers older than §3.6's acks,
 * `dropped` from peers older than its drop count (and whenever nothing was dropped).
 */
export interface PollAnswer {
  readonly frames: string[];
  /** The number of `frames[0]` (or of the next frame to come, when there are none). */
  readonly first: number;
  /** More frames wait: poll again at once. */
  readonly more: boolean;
  /** Frames this session's queue dropped, unacknowledged, since it began (only when > 0). */
  readonly dropped?: number;
}

/** What `enqueue` did: the push's number, and how many of the oldest frames made room for it. */
export interface Enqueued {
  readonly n: number;
  readonly dropped: number;
}

/** Bytes of the sealed frame of a push whose JSON is `pushBytes` long (§3.3). */
export const sealedSizeOf = (pushBytes: number): number =>
  PUSH_HEADER_LENGTH + pushBytes + SEALED_TAG_LENGTH;

/**
 * A push that cannot wait for a poll is refused before it is queued, not queued to be lost or to
 * block the queue: `ERR_BODY_TOO_LARGE`, so the caller knows it was not sent.
 */
export function assertPollable(pushBytes: number): void {
  if (pushBytes > MAX_POLLED_PUSH_BYTES) {
    throw new AppError(
      'ERR_BODY_TOO_LARGE',
      `push of ${pushBytes} bytes cannot wait for a poll (at most ${MAX_POLLED_PUSH_BYTES} ` +
        'while the peer has no link); not sent',
    );
  }
}

/** Queue a push under the next number. Drops the oldest beyond the cap, and says how many. */
export function enqueue(outbox: QueuedPush[], lastNumber: number, push: InnerPush): Enqueued {
  const size = sealedSizeOf(encodeInnerPush(push).length);
  // Checked before queueing (`assertPollable`); a frame no answer can carry would block the queue.
  if (size > MAX_POLLED_FRAME_BYTES) {
    throw new AppError('ERR_BODY_TOO_LARGE', 'push frame too large to wait for a poll');
  }
  const n = lastNumber + 1;
  outbox.push({ n, push, size });
  const dropped = Math.max(0, outbox.length - MAX_OUTBOX);
  outbox.splice(0, dropped);
  return { n, dropped };
}

/** The frame of a queued push: sealed the first time it goes out, the same bytes every later time. */
function frameOf(queued: QueuedPush, seal: SealPush): Buffer {
  queued.frame ??= seal(queued.push);
  return queued.frame;
}

/**
 * Answer a poll. `ack` (the last number the requester received) removes the frames up to it; then
 * the oldest frames that fit the budget are sent and stay queued until a later poll acknowledges
 * them. The budget is reckoned from the sizes the frames will have, so one that does not fit is not
 * sealed (and takes no seq) yet. A poll without `ack` comes from a peer that never acknowledges:
 * what it is sent is removed at once (its old at-most-once behaviour, but no longer more than one
 * answer can carry). `dropped` is the session's running total of frames the queue dropped (0: left
 * out).
 */
export function answerPoll(
  outbox: QueuedPush[],
  lastNumber: number,
  ack: number | undefined,
  seal: SealPush,
  dropped = 0,
): PollAnswer {
  if (ack !== undefined) {
    let acked = 0;
    while (acked < outbox.length && (outbox[acked]?.n ?? Infinity) <= ack) acked++;
    outbox.splice(0, acked);
  }
  let count = 0;
  let used = 0;
  for (const { size } of outbox) {
    const cost = costOf(size);
    if (used + cost > POLL_BUDGET) break; // never for the first: `enqueue` refuses larger ones
    used += cost;
    count++;
  }
  // Sealed in queue order, oldest first, so the push chain's seqs rise with the numbers.
  const frames = outbox.slice(0, count).map((q) => frameOf(q, seal).toString('base64url'));
  const first = outbox[0]?.n ?? lastNumber + 1;
  if (ack === undefined) outbox.splice(0, frames.length);
  const more = outbox.length > (ack === undefined ? 0 : frames.length);
  return { frames, first, more, ...(dropped > 0 ? { dropped } : {}) };
}

/**
 * Every waiting frame, in order, for a new link to carry: those not sent yet are sealed now, those
 * sent in an answer not yet acknowledged go again as the same bytes. The queue is left empty.
 */
export function drain(outbox: QueuedPush[], seal: SealPush): Buffer[] {
  const frames = outbox.map((q) => frameOf(q, seal));
  outbox.splice(0);
  return frames;
}

/**
 * Empty the queue of a session that is replaced: the pushes that never went out (in order), which
 * the new session may queue as its own, and how many others are lost. Those went out in an answer
 * not yet acknowledged and may have arrived: sealed anew under the new session's keys, the replay
 * window would no longer know them, so they could reach the application twice.
 */
export function takeUnsent(outbox: QueuedPush[]): { pushes: InnerPush[]; lost: number } {
  const pushes = outbox.filter((q) => q.frame === undefined).map((q) => q.push);
  const lost = outbox.length - pushes.length;
  outbox.splice(0);
  return { pushes, lost };
}

const isCount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The `ack` of a poll request body, if it carries a valid one. */
export function ackOf(body: unknown): number | undefined {
  const ack = (body as { ack?: unknown } | undefined)?.ack;
  return isCount(ack) ? ack : undefined;
}

/** What the requester does with a poll answer: the frames it has not had, and what to ack next. */
export interface ReadAnswer {
  readonly frames: Buffer[];
  /** The number to acknowledge in the next poll. */
  readonly last: number;
  readonly more: boolean;
  /** The responder's running total of frames it dropped for us, when it says (§3.6). */
  readonly dropped?: number;
}

/**
 * Read a poll answer body (already opened). Frames numbered at or below `last` were received
 * before and are skipped. An answer without numbers (an older responder) is taken whole.
 */
export function readPollAnswer(body: unknown, last: number): ReadAnswer | undefined {
  const b = body as
    { frames?: unknown; first?: unknown; more?: unknown; dropped?: unknown } | undefined;
  if (!Array.isArray(b?.frames)) return undefined;
  const raw = b.frames.slice(0, MAX_OUTBOX);
  const first = typeof b.first === 'number' && Number.isSafeInteger(b.first) ? b.first : undefined;
  const frames: Buffer[] = [];
  raw.forEach((f, i) => {
    if (typeof f !== 'string') return;
    if (first !== undefined && first + i <= last) return;
    frames.push(Buffer.from(f, 'base64url'));
  });
  const next =
    first === undefined || raw.length === 0 ? last : Math.max(last, first + raw.length - 1);
  return {
    frames,
    last: next,
    more: b.more === true,
    ...(isCount(b.dropped) ? { dropped: b.dropped } : {}),
  };
}
