/** Parse results at the wire edge: decoding never throws, it returns one of these. */
export type Result<T, E = DecodeError> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export interface DecodeError {
  /** Stable reason, used as a counter label. */
  readonly reason: 'oversized' | 'malformed' | 'unsupported-version' | 'invalid';
  readonly detail: string;
}

export function ok<T>(value: T): Result<T, never> {
  return { ok: true, value };
}

export function err<E>(error: E): Result<never, E> {
  return { ok: false, error };
}
