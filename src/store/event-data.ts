/**
 * The one rule for what an event may carry, shared by every store: **JSON data that each store
 * holds faithfully** (memory, a JSON-lines file, BSON in MongoDB), copied and deep-frozen at the
 * door so a caller can neither change a stored event afterwards nor see its own later mutations.
 *
 * Accepted: `null`, booleans, finite numbers (`-0` is stored as `0`, as JSON does), well-formed
 * strings, dense arrays, and plain objects (prototype `Object.prototype` or `null`) whose keys are
 * well-formed strings without NUL (BSON field names are C strings).
 * Rejected with `ERR_INVALID_ARGUMENT`, naming the path: `undefined` (also as an object value or an
 * array hole: JSON would silently drop or null it), `NaN`/`±Infinity`, `bigint`, functions,
 * symbols, `Date`/`Map`/`Set`/`Buffer`/typed arrays/class instances (serialize them yourself:
 * ISO strings, base64, arrays), lone UTF-16 surrogates (BSON would replace them), the key
 * `__proto__`, and nesting deeper than {@link MAX_DEPTH} (which also stops cycles).
 * Symbol-keyed and non-enumerable properties are ignored, as `JSON.stringify` ignores them.
 *
 * Cost: one walk per event, about 0.4 µs for a 200 B event; no serialization unless the append is
 * big enough that the {@link MAX_APPEND_BYTES} limit might apply.
 */
import { AppError } from '../errors.js';
import type { EventMeta, NewEvent } from './event-store.js';

/**
 * Largest append (the JSON encoding of its events, UTF-8) any store accepts. 1 MiB below
 * MongoDB's 16 MiB document limit, which a commit document (events plus BSON overhead) must fit.
 */
export const MAX_APPEND_BYTES = 15 * 1024 * 1024;
/** Deepest nesting inside one event (`{type, data, meta}` is depth 1). */
export const MAX_DEPTH = 64;
export const MAX_STREAM_LENGTH = 512;
export const MAX_TYPE_LENGTH = 256;

/** A validated, deep-frozen copy of a `NewEvent` with exactly the fields a store keeps. */
export interface FrozenEvent {
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly meta: EventMeta;
}

const INVALID = new Error('invalid JSON data');
/** ES2024 `String.prototype.isWellFormed` (Node ≥ 20); the project's `lib` is ES2023. */
const isWellFormed = (s: string): boolean =>
  (s as unknown as { isWellFormed(): boolean }).isWellFormed();
const OBJECT_PROTO = Object.prototype;
/** Rough JSON size of what the walker copied: chars of strings and keys plus 8 per value. */
let sizeEstimate = 0;

function copyJson(v: unknown, depth: number): unknown {
  switch (typeof v) {
    case 'string':
      if (!isWellFormed(v)) throw INVALID;
      sizeEstimate += v.length + 8;
      return v;
    case 'boolean':
      sizeEstimate += 8;
      return v;
    case 'number':
      if (!Number.isFinite(v)) throw INVALID;
      sizeEstimate += 8;
      return v === 0 ? 0 : v;
    case 'object': {
      if (v === null) return null;
      if (depth >= MAX_DEPTH) throw INVALID;
      sizeEstimate += 8;
      if (Array.isArray(v)) {
        const n = v.length;
        const out: unknown[] = new Array<unknown>(n);
        for (let i = 0; i < n; i++) {
          const x: unknown = v[i];
          if (x === undefined) throw INVALID;
          out[i] = copyJson(x, depth + 1);
        }
        return Object.freeze(out);
      }
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== OBJECT_PROTO && proto !== null) throw INVALID;
      const src = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      const keys = Object.keys(src);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        const x = src[k];
        if (x === undefined || k === '__proto__' || k.includes('\0') || !isWellFormed(k)) {
          throw INVALID;
        }
        sizeEstimate += k.length;
        out[k] = copyJson(x, depth + 1);
      }
      return Object.freeze(out);
    }
    case 'undefined':
    case 'bigint':
    case 'function':
    case 'symbol':
      throw INVALID;
  }
}

/** Slow path, run only after the walker refused: find the first offending path and say why. */
function diagnose(v: unknown, path: string, depth: number): string | undefined {
  const at = (why: string): string => `${path}: ${why}`;
  switch (typeof v) {
    case 'string':
      return isWellFormed(v) ? undefined : at('string contains a lone UTF-16 surrogate');
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(v) ? undefined : at(`${v} is not JSON (use null or a string)`);
    case 'undefined':
      return at('undefined is not JSON (use null, or omit the key)');
    case 'bigint':
      return at('bigint is not JSON (store it as a decimal string)');
    case 'function':
    case 'symbol':
      return at(`a ${typeof v} is not data`);
    case 'object':
      break;
  }
  if (v === null) return undefined;
  if (depth >= MAX_DEPTH) return at(`nested deeper than ${MAX_DEPTH} levels (or a cycle)`);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const r = diagnose(v[i], `${path}[${i}]`, depth + 1);
      if (r) return r;
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== OBJECT_PROTO && proto !== null) {
    const name = (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
    return at(`${name} is not a plain object (convert it: ISO string, base64, array, …)`);
  }
  for (const [k, x] of Object.entries(v)) {
    if (k === '__proto__') return at('the key "__proto__" is not allowed');
    if (k.includes('\0') || !isWellFormed(k)) return at(`key ${JSON.stringify(k)} is not storable`);
    const r = diagnose(x, `${path}.${k}`, depth + 1);
    if (r) return r;
  }
  return undefined;
}

function invalid(message: string): AppError {
  return new AppError('ERR_INVALID_ARGUMENT', message);
}

function freezeField(value: unknown, path: string): unknown {
  try {
    return copyJson(value, 1);
  } catch (err) {
    if (err !== INVALID) throw err;
    throw invalid(`unsupported event data at ${diagnose(value, path, 1) ?? path}`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === OBJECT_PROTO || proto === null;
}

/** Throws `ERR_INVALID_ARGUMENT` unless `stream` is a usable stream name. */
export function assertStreamName(stream: unknown): asserts stream is string {
  if (
    typeof stream !== 'string' ||
    stream.length === 0 ||
    stream.length > MAX_STREAM_LENGTH ||
    stream.includes('\0') ||
    !isWellFormed(stream)
  ) {
    throw invalid(
      `stream name must be a non-empty string of at most ${MAX_STREAM_LENGTH} characters`,
    );
  }
}

/**
 * Validate an append and return deep-frozen copies of its events (`type`, `data`, `meta` only;
 * any other field a caller passes, e.g. a `position` from a read, is not stored).
 *
 * @example
 * const frozen = freezeEvents('room:r1', [{ type: 'RoomCreated', data: {}, meta }]);
 */
export function freezeEvents(stream: string, events: readonly NewEvent[]): FrozenEvent[] {
  assertStreamName(stream);
  if (!Array.isArray(events) || events.length === 0) {
    throw invalid(`append to ${stream} needs at least one event`);
  }
  sizeEstimate = 0;
  const out: FrozenEvent[] = new Array<FrozenEvent>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e: unknown = events[i];
    if (!isPlainObject(e)) throw invalid(`events[${i}] must be a plain object`);
    const { type, data, meta } = e;
    if (typeof type !== 'string' || type.length === 0 || type.length > MAX_TYPE_LENGTH) {
      throw invalid(
        `events[${i}].type must be a non-empty string of at most ${MAX_TYPE_LENGTH} characters`,
      );
    }
    if (!isWellFormed(type)) throw invalid(`events[${i}].type is not a well-formed string`);
    if (!isPlainObject(data)) throw invalid(`events[${i}].data must be a plain object`);
    if (!isPlainObject(meta) || typeof meta.recordedAt !== 'string') {
      throw invalid(`events[${i}].meta must be a plain object with a recordedAt string`);
    }
    out[i] = Object.freeze({
      type,
      data: freezeField(data, `events[${i}].data`) as Readonly<Record<string, unknown>>,
      meta: freezeField(meta, `events[${i}].meta`) as EventMeta,
    });
  }
  // Worst case a char costs 6 bytes in JSON (`\u001f`); only then is an exact count worth it.
  if (sizeEstimate * 6 > MAX_APPEND_BYTES) {
    const bytes = Buffer.byteLength(JSON.stringify(out));
    if (bytes > MAX_APPEND_BYTES) {
      throw new AppError(
        'ERR_DOCUMENT_TOO_LARGE',
        `append to ${stream} is ${bytes} bytes of JSON; the limit is ${MAX_APPEND_BYTES} (split it or store large blobs elsewhere)`,
        { details: { stream, bytes, limit: MAX_APPEND_BYTES } },
      );
    }
  }
  return out;
}

/** {@link freezeEvents} plus the walker's size estimate of the append. */
export interface SizedFrozenEvents {
  readonly events: FrozenEvent[];
  /**
   * Rough JSON size of the events' `data` and `meta` in bytes: characters of strings and keys
   * plus 8 per value (not `type`, nor the fields a store adds). Free: the walk computes it anyway.
   */
  readonly estimatedBytes: number;
}

/**
 * {@link freezeEvents}, also returning the size estimate it computed on the way (the memory
 * store's retention budget counts it).
 *
 * @example
 * const { events, estimatedBytes } = freezeEventsSized('room:r1', [anEvent]);
 */
export function freezeEventsSized(stream: string, events: readonly NewEvent[]): SizedFrozenEvents {
  const frozen = freezeEvents(stream, events);
  return { events: frozen, estimatedBytes: sizeEstimate };
}

/**
 * Deep-freeze a value this process parsed itself (a log line, a BSON document), checking it with
 * the same rule as appends. Returns the frozen copy, or `undefined` when it breaks the rule.
 */
export function freezeStored(value: unknown): unknown {
  try {
    return copyJson(value, 1);
  } catch (err) {
    if (err !== INVALID) throw err;
    return undefined;
  }
}
