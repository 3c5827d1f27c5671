/**
 * Checks every store applies the same way: `expectedVersion`, read windows, and the closed state.
 * Keeping them in one place is what makes the memory store an honest twin of the durable ones.
 */
import { AppError, VersionConflictError } from '../errors.js';
import type { ExpectedVersion, ReadAllOptions, ReadStreamOptions } from './event-store.js';

function invalid(message: string): AppError {
  return new AppError('ERR_INVALID_ARGUMENT', message);
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/**
 * Throws `VersionConflictError` unless a stream at `actual` satisfies `expected` (default
 * `'any'`), and `ERR_INVALID_ARGUMENT` for a malformed `expected`.
 *
 * @example
 * checkExpectedVersion('room:r1', 0, 0); // ok: the stream must not exist yet
 */
export function checkExpectedVersion(
  stream: string,
  expected: ExpectedVersion | undefined,
  actual: number,
): void {
  if (expected === undefined || expected === 'any') return;
  if (expected === 'exists') {
    if (actual === 0) throw new VersionConflictError(stream, 'exists', actual);
    return;
  }
  if (!isCount(expected)) {
    throw invalid(`expectedVersion must be a version (integer ≥ 0), 'any' or 'exists'`);
  }
  if (expected !== actual) throw new VersionConflictError(stream, expected, actual);
}

/** Normalised `readStream` window: events with `version > after`, at most `limit` of them. */
export function streamWindow(options: ReadStreamOptions | undefined): {
  after: number;
  limit: number;
} {
  return window(options?.afterVersion, options?.limit, 'afterVersion');
}

/** Normalised `readAll` window: events with `position > after`, at most `limit`, by prefix. */
export function allWindow(options: ReadAllOptions | undefined): {
  after: number;
  limit: number;
  prefix: string;
} {
  const prefix = options?.streamPrefix ?? '';
  if (typeof prefix !== 'string') throw invalid('streamPrefix must be a string');
  return { ...window(options?.after, options?.limit, 'after'), prefix };
}

function window(after: unknown, limit: unknown, name: string): { after: number; limit: number } {
  if (after !== undefined && !isCount(after)) throw invalid(`${name} must be an integer ≥ 0`);
  if (limit !== undefined && !isCount(limit)) throw invalid('limit must be an integer ≥ 0');
  return { after: after ?? 0, limit: limit ?? Number.MAX_SAFE_INTEGER };
}

/** The error every operation on a closed store fails with. */
export function closedError(description: string): AppError {
  return new AppError('ERR_STORE_CLOSED', `event store ${description} is closed`);
}

/**
 * Run synchronous store work behind the async contract: the result resolves, a throw rejects
 * (never escapes synchronously).
 */
export function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
