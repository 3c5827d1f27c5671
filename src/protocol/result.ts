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

/**
 * The refusal of a message whose `v` is not ours. The value is untrusted: only a number or a short
 * string is echoed (`String()` of a parsed `{"toString": null}` throws).
 */
export function unsupportedVersion(v: unknown): Result<never> {
  const shown =
    typeof v === 'number' || (typeof v === 'string' && v.length <= 16)
      ? String(v)
      : `(${v === null ? 'null' : typeof v})`;
  return err({ reason: 'unsupported-version', detail: `v=${shown}` });
}
