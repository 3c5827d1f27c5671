/**
 * The one error hierarchy of conclave. Every error that can reach a user carries a stable string
 * `code`; the local API maps codes to HTTP statuses in exactly one place (`transport/http/problem.ts`).
 *
 * @example
 * throw new AppError('ERR_NOT_FOUND', 'no such stream: room:abc');
 */
export type ErrorCode =
  | 'ERR_VERSION_CONFLICT'
  | 'ERR_LOG_CORRUPT'
  | 'ERR_STORE_CLOSED'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_STORE_LOCKED'
  | 'ERR_DOCUMENT_TOO_LARGE'
  | 'ERR_DECRYPT_FAILED'
  | 'ERR_REPLAYED'
  | 'ERR_BAD_SIGNATURE'
  | 'ERR_WEAK_KEY'
  | 'ERR_NONCE_EXHAUSTED'
  | 'ERR_CRYPTO_INPUT'
  | 'ERR_KEYSTORE_LOCKED'
  | 'ERR_KEYSTORE_CORRUPT'
  | 'ERR_BAD_PASSPHRASE'
  | 'ERR_INVALID_MESSAGE'
  | 'ERR_INVALID_JSON'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_INVALID_CONFIG'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_UNAUTHORIZED'
  | 'ERR_FORBIDDEN_HOST'
  | 'ERR_FORBIDDEN_ORIGIN'
  | 'ERR_NOT_FOUND'
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_TIMEOUT'
  | 'ERR_OVERLOADED'
  | 'ERR_RATE_LIMITED'
  | 'ERR_UNKNOWN_SESSION'
  | 'ERR_SHUTTING_DOWN'
  | 'ERR_PEER_UNREACHABLE'
  | 'ERR_NOT_MEMBER'
  | 'ERR_FORBIDDEN'
  | 'ERR_ROOM_FULL'
  | 'ERR_WRONG_PASSWORD'
  | 'ERR_INVITE_INVALID'
  | 'ERR_INVITE_EXPIRED'
  | 'ERR_INVITE_USED'
  | 'ERR_BANNED'
  | 'ERR_NOT_VERIFIED'
  | 'ERR_AMBIGUOUS'
  | 'ERR_CONFLICT'
  | 'ERR_CLOCK_SKEW'
  | 'ERR_MISSING_KEY'
  | 'ERR_FINGERPRINT_MISMATCH'
  | 'ERR_HANDSHAKE_FAILED'
  /** Live inspection was asked for, but the peer runs without `--inspect`. */
  | 'ERR_INSPECT_OFF'
  | 'ERR_NOT_RUNNING'
  | 'ERR_INTERNAL';

export class AppError extends Error {
  override readonly name: string = 'AppError';
  readonly code: ErrorCode;
  /** Extra machine-readable facts for the problem document (never secrets). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }
}

/** Thrown by an event store when `expectedVersion` does not match the stream's version. */
export class VersionConflictError extends AppError {
  override readonly name = 'VersionConflictError';
  constructor(
    readonly stream: string,
    readonly expected: number | string,
    readonly actual: number,
  ) {
    super(
      'ERR_VERSION_CONFLICT',
      `stream ${stream} is at version ${actual}, expected ${String(expected)}`,
      {
        details: { stream, expected, actual },
      },
    );
  }
}

/** Thrown when a durable log fails verification; `position` names the first bad record. */
export class LogCorruptError extends AppError {
  override readonly name = 'LogCorruptError';
  constructor(
    readonly reason: 'tampered' | 'truncated' | 'reordered' | 'malformed',
    readonly position: number,
    detail: string,
  ) {
    super('ERR_LOG_CORRUPT', `event log ${reason} at position ${position}: ${detail}`, {
      details: { reason, position },
    });
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** Exhaustiveness helper for `switch` over discriminated unions. */
export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
