/**
 * The MongoDB representation of the log, as pure functions (no connection): the commit document,
 * the index specs, and the translation of driver errors. Tested without a server
 * (`mongo-commit.test.ts`, "translation tests").
 *
 * **One commit document per append** (single-document writes are atomic without a replica set):
 *
 * ```text
 * { stream, fromVersion, toVersion, fromPosition, toPosition, committedAt, events: [{type, data, meta}] }
 * ```
 *
 * Indexes, all unique:
 * - `(stream, fromVersion)`: two appends at the same expected version collide (E11000), which
 *   becomes `VersionConflictError`. Because `fromVersion` is always one past a version some
 *   commit ended at, any stale writer collides here; overlapping ranges cannot be inserted.
 * - `(stream, toVersion)`: a second guard, and the index for `readStream(afterVersion)`.
 * - `fromPosition` and `toPosition`: a second writer with its own counter collides on positions;
 *   `toPosition` also serves `headPosition` and the tail.
 */
import { BSON, type IndexDescription } from 'mongodb';
import { AppError, LogCorruptError } from '../errors.js';
import type { EventMeta, RecordedEvent } from './event-store.js';
import { freezeStored, type FrozenEvent } from './event-data.js';

export interface CommitDocument {
  readonly stream: string;
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly fromPosition: number;
  readonly toPosition: number;
  readonly committedAt: Date;
  readonly events: ReadonlyArray<{
    readonly type: string;
    readonly data: unknown;
    readonly meta: unknown;
  }>;
}

export const COMMIT_INDEXES: readonly IndexDescription[] = [
  { key: { stream: 1, fromVersion: 1 }, name: 'stream_fromVersion', unique: true },
  { key: { stream: 1, toVersion: 1 }, name: 'stream_toVersion', unique: true },
  { key: { fromPosition: 1 }, name: 'fromPosition', unique: true },
  { key: { toPosition: 1 }, name: 'toPosition', unique: true },
];

/** MongoDB's default document limit; the server's `maxBsonObjectSize` overrides it when known. */
export const DEFAULT_MAX_BSON_SIZE = 16 * 1024 * 1024;

/**
 * @example
 * const doc = toCommitDocument('room:r1', 1, 1, frozen, new Date());
 */
export function toCommitDocument(
  stream: string,
  fromVersion: number,
  fromPosition: number,
  events: readonly FrozenEvent[],
  committedAt: Date,
): CommitDocument {
  return {
    stream,
    fromVersion,
    toVersion: fromVersion + events.length - 1,
    fromPosition,
    toPosition: fromPosition + events.length - 1,
    committedAt,
    events: events.map((e) => ({ type: e.type, data: e.data, meta: e.meta })),
  };
}

/**
 * Throws `ERR_DOCUMENT_TOO_LARGE` when `doc` would exceed the server's document limit. Run before
 * positions are handed out, with placeholder numbers (positions change the size by a few bytes,
 * hence the margin).
 */
export function assertFits(doc: CommitDocument, maxBsonSize: number): void {
  const bytes = BSON.calculateObjectSize(doc) + 64;
  if (bytes > maxBsonSize) {
    throw new AppError(
      'ERR_DOCUMENT_TOO_LARGE',
      `append to ${doc.stream} needs a ${bytes}-byte commit document; MongoDB's limit is ${maxBsonSize} (split the append)`,
      { details: { stream: doc.stream, bytes, limit: maxBsonSize } },
    );
  }
}

/** The recorded events of a commit document read back, validated and deep-frozen. */
export function fromCommitDocument(doc: unknown): RecordedEvent[] {
  const d = doc as Partial<CommitDocument> | null;
  const at = typeof d?.fromPosition === 'number' ? d.fromPosition : 0;
  const bad = (why: string): LogCorruptError =>
    new LogCorruptError('malformed', at, `commit document: ${why}`);
  if (!d || typeof d.stream !== 'string' || !Array.isArray(d.events)) throw bad('missing fields');
  const { stream, fromVersion, toVersion, fromPosition, toPosition, events } = d;
  if (
    !Number.isSafeInteger(fromVersion) ||
    !Number.isSafeInteger(fromPosition) ||
    toVersion !== (fromVersion as number) + events.length - 1 ||
    toPosition !== (fromPosition as number) + events.length - 1 ||
    events.length === 0
  ) {
    throw bad('version/position range does not match its events');
  }
  return events.map((raw, i) => {
    const e = freezeStored(raw) as { type?: unknown; data?: unknown; meta?: unknown } | undefined;
    if (
      !e ||
      typeof e.type !== 'string' ||
      typeof e.data !== 'object' ||
      typeof e.meta !== 'object'
    ) {
      throw bad(`event ${i} is not JSON event data`);
    }
    return Object.freeze({
      stream,
      version: (fromVersion as number) + i,
      position: (fromPosition as number) + i,
      type: e.type,
      data: e.data as Readonly<Record<string, unknown>>,
      meta: e.meta as EventMeta,
    });
  });
}

/** Which unique index a duplicate-key error (code 11000) hit, if it is one. */
export function duplicateKeyIndex(err: unknown): 'version' | 'position' | undefined {
  const e = err as { code?: unknown; keyPattern?: unknown; errmsg?: unknown; message?: unknown };
  if (typeof e !== 'object' || e === null || e.code !== 11000) return undefined;
  if (typeof e.keyPattern === 'object' && e.keyPattern !== null) {
    return 'stream' in e.keyPattern ? 'version' : 'position';
  }
  const text =
    typeof e.errmsg === 'string' ? e.errmsg : typeof e.message === 'string' ? e.message : '';
  return /index: stream_/.test(text) ? 'version' : 'position';
}

/** The driver's write error of a failed ordered `insertMany`: which document failed, and why. */
export function firstWriteError(err: unknown): { index: number; error: unknown } | undefined {
  const writeErrors = (err as { writeErrors?: unknown }).writeErrors;
  const first: unknown = Array.isArray(writeErrors) ? writeErrors[0] : writeErrors;
  if (typeof first !== 'object' || first === null) return undefined;
  const w = first as { index?: unknown; code?: unknown; errmsg?: unknown; err?: unknown };
  if (typeof w.index !== 'number') return undefined;
  return {
    index: w.index,
    error: { code: w.code, errmsg: w.errmsg, ...(w.err as object | undefined) },
  };
}

/**
 * `mongodb://user:pw@h1,h2/db?opts` → `mongodb://h1,h2/db`: no user info, no options (they can
 * hold secrets too).
 *
 * @example
 * describeUri('mongodb://app:s3cret@db.lan:27017/chat?tls=true'); // 'mongodb://db.lan:27017/chat'
 */
export function describeUri(uri: string, database?: string): string {
  const m = /^(mongodb(?:\+srv)?):\/\/(?:[^@/]*@)?([^/?]*)(?:\/([^?]*))?/.exec(uri);
  if (!m) return 'mongodb://(invalid uri)';
  const db = database ?? (m[3] ? decodeURIComponent(m[3]) : '');
  return `${m[1]}://${m[2]}${db ? `/${db}` : ''}`;
}

/** The database named in the URI's path, if any. */
export function databaseFromUri(uri: string): string | undefined {
  const m = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]+)/.exec(uri);
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
}

/** Remove anything URI-shaped with credentials from a driver message. */
function scrub(text: string): string {
  return text.replace(/(mongodb(?:\+srv)?:\/\/)[^@\s/]*@/g, '$1***@');
}

/**
 * A driver error as the store reports it: parse errors are `ERR_INVALID_CONFIG`, everything else
 * `ERR_STORE_UNAVAILABLE` with what to check. The driver's message is kept (scrubbed); the driver
 * error itself is not attached.
 */
export function unavailable(description: string, err: unknown, doing: string): AppError {
  if (err instanceof AppError) return err;
  const name = err instanceof Error ? err.name : '';
  const reason = scrub(err instanceof Error ? err.message : String(err));
  if (name === 'MongoParseError' || name === 'MongoInvalidArgumentError') {
    return new AppError(
      'ERR_INVALID_CONFIG',
      `the MongoDB URI for ${description} is not valid: ${reason}`,
    );
  }
  const code = (err as { code?: unknown } | null)?.code;
  const hint =
    code === 18 || code === 13
      ? 'check the user name, password, authSource and the user’s roles on this database'
      : 'check that mongod is running and reachable at that host and port, and the TLS/replica-set options in the URI';
  return new AppError(
    'ERR_STORE_UNAVAILABLE',
    `MongoDB ${description}: ${doing} failed (${reason}); ${hint}`,
    {
      details: { store: description },
    },
  );
}
