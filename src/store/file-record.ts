/**
 * The on-disk record of the file store: **one JSON line per group-commit batch**, hash-chained.
 *
 * ```text
 * {"v":1,"from":F,"to":T,"prev":"<sha256 hex of the previous record>","events":[…],"hash":"<hex>"}\n
 * ```
 *
 * `events` are the batch's recorded events (`{stream, version, position, type, data, meta}`) with
 * positions `F…T`. `hash` is SHA-256 over the record's *body*: the exact bytes of the line up to
 * `,"hash":` followed by `}`, i.e. the record without its own hash. It covers `prev`, so each
 * record commits to the whole log before it; the first record's `prev` is {@link GENESIS_HASH}.
 * Hashing the written bytes (not a re-serialization) means verification needs no canonical JSON.
 *
 * One digest per batch, not per event: SHA-256 costs ~3 µs fixed plus ~0.75 ns/byte, so a batch of
 * 256 events costs about as much as 10 per-event digests would (`perf-ceilings.md` §5 T5).
 */
import { createHash } from 'node:crypto';

export const RECORD_VERSION = 1;
export const GENESIS_HASH = '0'.repeat(64);
/** `,"hash":"` + 64 hex digits + `"}`: the fixed-size tail of every record line (no newline). */
export const HASH_SUFFIX_LENGTH = 75;
const SUFFIX = /^,"hash":"([0-9a-f]{64})"\}$/;
const NEWLINE = 0x0a;

export interface EncodedRecord {
  /** The line including its trailing newline, UTF-8. */
  readonly bytes: Buffer;
  readonly hash: string;
}

/**
 * Build one record line from already-serialized events (`eventsJson` is a JSON array).
 *
 * @example
 * const { bytes, hash } = encodeRecord(prev, 1, 2, JSON.stringify(recorded));
 */
export function encodeRecord(
  prev: string,
  from: number,
  to: number,
  eventsJson: string,
): EncodedRecord {
  const head = `{"v":${RECORD_VERSION},"from":${from},"to":${to},"prev":"${prev}","events":${eventsJson}`;
  const hash = createHash('sha256').update(head).update('}').digest('hex');
  return { bytes: Buffer.from(`${head},"hash":"${hash}"}\n`), hash };
}

/** A record line whose hash matched its content; the fields are not yet checked. */
export interface HashedLine {
  readonly hash: string;
  /** The line parsed as JSON, or `undefined` when it is not valid JSON. */
  readonly parsed: unknown;
}

export type LineCheck =
  | { readonly ok: true; readonly line: HashedLine }
  | { readonly ok: false; readonly reason: 'malformed' | 'tampered'; readonly detail: string };

/**
 * Check the hash of the line `buf[start, end)` (without its newline) against its own content.
 *
 * @example
 * const check = checkLine(buf, 0, buf.indexOf(10));
 */
export function checkLine(buf: Buffer, start: number, end: number): LineCheck {
  const length = end - start;
  if (length < HASH_SUFFIX_LENGTH + 2) {
    return { ok: false, reason: 'malformed', detail: `line of ${length} bytes is not a record` };
  }
  const m = SUFFIX.exec(buf.toString('latin1', end - HASH_SUFFIX_LENGTH, end));
  if (!m || buf[start] !== 0x7b) {
    return { ok: false, reason: 'malformed', detail: 'line does not have the shape of a record' };
  }
  const stored = m[1] as string;
  const actual = createHash('sha256')
    .update(buf.subarray(start, end - HASH_SUFFIX_LENGTH))
    .update('}')
    .digest('hex');
  if (actual !== stored) {
    return { ok: false, reason: 'tampered', detail: 'record content does not match its hash' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString('utf8', start, end));
  } catch {
    parsed = undefined;
  }
  return { ok: true, line: { hash: stored, parsed } };
}

/** The complete lines of `buf` as `[start, end)` ranges, plus the start of a torn tail, if any. */
export function splitLines(buf: Buffer): {
  lines: Array<[number, number]>;
  tornAt: number | undefined;
} {
  const lines: Array<[number, number]> = [];
  let start = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(NEWLINE, start);
    if (nl === -1) return { lines, tornAt: start };
    lines.push([start, nl]);
    start = nl + 1;
  }
  return { lines, tornAt: undefined };
}

/** `from` of a line, read leniently (used only to explain a broken chain). */
export function peekFrom(buf: Buffer, start: number, end: number): number | undefined {
  const m = /^\{"v":\d+,"from":(\d+),/.exec(
    buf.toString('latin1', start, Math.min(end, start + 64)),
  );
  return m ? Number(m[1]) : undefined;
}
