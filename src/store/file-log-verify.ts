/**
 * Verification of a whole file log at open. Every record's hash, the chain of `prev` hashes, the
 * positions and the per-stream versions are checked, and the result is compared with the head file.
 *
 * Failures are `LogCorruptError(reason, position, detail)`, where `position` is **the first global
 * position that cannot be trusted** (everything before it verified):
 * - `malformed`: a line that is not a record (no hash suffix, not JSON, wrong fields) or a head file
 *   that is unreadable or missing while the log has records (position 0: the log as a whole);
 * - `tampered`: a record whose content no longer matches its hash, or whose hash differs from the
 *   one the head file recorded for that position;
 * - `reordered`: a record out of place (the expected one appears later, or a record repeats);
 * - `truncated`: records missing, i.e. the file ends (possibly mid-record) before the position the
 *   head file vouches for, or the chain jumps forward past records that are nowhere in the file.
 *
 * **Torn-tail rule.** A final line with no newline is a write that crashed before its fsync. If it
 * lies beyond the head file's position, its append was never acknowledged (acknowledgement waits
 * for the fsync and the head), so it is dropped and reported as `tornTail`; if the head covers it,
 * acknowledged data is gone and the log is `truncated`. The same holds for a complete final line
 * that is not a record at all (a crash before the fsync can leave the file's new length with
 * zero-filled blocks): past the head it is dropped too. Complete records beyond the head (the head
 * write was lost in a crash) are kept when they verify.
 */
import { LogCorruptError } from '../errors.js';
import type { RecordedEvent } from './event-store.js';
import { freezeStored } from './event-data.js';
import type { LogHead } from './file-head.js';
import { GENESIS_HASH, RECORD_VERSION, checkLine, peekFrom, splitLines } from './file-record.js';

export interface VerifiedLog {
  /** Every event in position order, deep-frozen. */
  readonly events: RecordedEvent[];
  readonly lastHash: string;
  /** Bytes of the verified prefix; appends continue here. */
  readonly validBytes: number;
  /** A torn final line beyond the head that open drops (never acknowledged). */
  readonly tornTail: { readonly bytes: number; readonly afterPosition: number } | undefined;
}

interface RecordShape {
  readonly v: number;
  readonly from: number;
  readonly to: number;
  readonly prev: string;
  readonly events: readonly unknown[];
}

function isRecordShape(x: unknown): x is RecordShape {
  const r = x as Partial<RecordShape> | undefined;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.v === RECORD_VERSION &&
    Number.isSafeInteger(r.from) &&
    Number.isSafeInteger(r.to) &&
    typeof r.prev === 'string' &&
    Array.isArray(r.events)
  );
}

function toEvent(
  x: unknown,
  position: number,
  versions: Map<string, number>,
): RecordedEvent | undefined {
  const e = freezeStored(x) as Partial<RecordedEvent> | undefined;
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return undefined;
  if (typeof e.stream !== 'string' || e.stream === '' || e.position !== position) return undefined;
  if (e.version !== (versions.get(e.stream) ?? 0) + 1 || typeof e.type !== 'string')
    return undefined;
  const isObject = (v: unknown): boolean =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(e.data) || !isObject(e.meta)) return undefined;
  versions.set(e.stream, e.version);
  return e as RecordedEvent;
}

/** Why the chain broke at `expected`: the record we want is later (reordered) or nowhere. */
function chainBreak(
  buf: Buffer,
  lines: ReadonlyArray<readonly [number, number]>,
  at: number,
  expected: number,
  found: number,
): LogCorruptError {
  for (let j = at + 1; j < lines.length; j++) {
    const [s, e] = lines[j] as readonly [number, number];
    if (peekFrom(buf, s, e) === expected) {
      return new LogCorruptError(
        'reordered',
        expected,
        `the record for position ${expected} appears later in the file`,
      );
    }
  }
  if (found > expected) {
    return new LogCorruptError(
      'truncated',
      expected,
      `records for positions ${expected}…${found - 1} are missing`,
    );
  }
  return new LogCorruptError('reordered', expected, `a record for position ${found} appears again`);
}

/**
 * Verify the log bytes `buf` against `head` (the head file; `undefined` when there is none).
 *
 * @example
 * const log = verifyLog(await readFile(logPath), await readHead(dir));
 */
export function verifyLog(buf: Buffer, head: LogHead | undefined): VerifiedLog {
  const { lines, tornAt } = splitLines(buf);
  if (head === undefined && lines.length > 0) {
    throw new LogCorruptError('malformed', 0, 'the head file is missing but the log has records');
  }
  const headPosition = head?.position ?? 0;
  const events: RecordedEvent[] = [];
  const versions = new Map<string, number>();
  let prev = GENESIS_HASH;
  let validBytes = 0;

  let garbledAt: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const [start, end] = lines[i] as [number, number];
    const expected = events.length + 1;
    const check = checkLine(buf, start, end);
    const isUnreadable = !check.ok || !isRecordShape(check.line.parsed);
    if (isUnreadable && i === lines.length - 1 && events.length >= headPosition) {
      // A complete final line that is not a record, all of it past the head: blocks a crash left
      // unwritten (zeros) before the fsync. Never acknowledged, like a torn line: dropped.
      garbledAt = start;
      break;
    }
    if (!check.ok)
      throw new LogCorruptError(check.reason, expected, `line ${i + 1}: ${check.detail}`);
    const r = check.line.parsed;
    if (!isRecordShape(r)) {
      throw new LogCorruptError(
        'malformed',
        expected,
        `line ${i + 1}: not a version-${RECORD_VERSION} record`,
      );
    }
    if (r.from !== expected) throw chainBreak(buf, lines, i, expected, r.from);
    if (r.prev !== prev) {
      throw new LogCorruptError(
        'tampered',
        expected,
        `line ${i + 1}: record does not continue the hash chain`,
      );
    }
    if (r.to < r.from || r.events.length !== r.to - r.from + 1) {
      throw new LogCorruptError(
        'malformed',
        expected,
        `line ${i + 1}: event count does not match ${r.from}…${r.to}`,
      );
    }
    for (let k = 0; k < r.events.length; k++) {
      const e = toEvent(r.events[k], r.from + k, versions);
      if (!e) {
        throw new LogCorruptError(
          'malformed',
          r.from + k,
          `line ${i + 1}: event ${k} is not a valid event`,
        );
      }
      events.push(e);
    }
    if (
      r.from <= headPosition &&
      headPosition <= r.to &&
      (r.to !== headPosition || check.line.hash !== head?.hash)
    ) {
      throw new LogCorruptError(
        'tampered',
        r.from,
        `line ${i + 1}: record differs from the one the head file recorded`,
      );
    }
    prev = check.line.hash;
    validBytes = end + 1;
  }

  if (events.length < headPosition) {
    const torn = tornAt === undefined ? '' : ' (the last record is cut off)';
    throw new LogCorruptError(
      'truncated',
      events.length + 1,
      `the head file says the log reaches position ${headPosition} but it ends at ${events.length}${torn}`,
    );
  }
  const cutAt = garbledAt ?? tornAt;
  const tornTail =
    cutAt === undefined ? undefined : { bytes: buf.length - cutAt, afterPosition: events.length };
  return { events, lastHash: prev, validBytes, tornTail };
}
