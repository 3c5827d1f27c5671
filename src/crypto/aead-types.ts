/**
 * The suite-agnostic AEAD contract (`Aead`), its options and the shared failure and limit rules,
 * used by both suites (`aead.ts` for AES-256-GCM, `cbc-hmac.ts` for AES-256-CBC + HMAC-SHA256).
 */
import { AppError } from '../errors.js';

/** The AEAD suites a room can choose. */
export type AeadSuite = 'aes-256-gcm' | 'aes-256-cbc-hmac-sha256';

/** Every suite, e.g. to validate a suite name from the wire with `isAeadSuite`. */
export const AEAD_SUITES: readonly AeadSuite[] = ['aes-256-gcm', 'aes-256-cbc-hmac-sha256'];

/**
 * Default cap on messages one `Aead` instance seals: 2^24 (16 777 216). RFC 8446 §5.5 limits
 * AES-GCM to 2^24.5 full-size records per key to keep the confidentiality bound near 2^-60; the cap
 * sits below that for one sender, and the room rotation policy (far lower, per epoch) bounds the
 * total across senders. The GCM nonce counter (32 bits) would only run out at 2^32.
 */
export const DEFAULT_MAX_MESSAGES = 2 ** 24;

/** Length of every key an `Aead` takes. */
export const AEAD_KEY_LENGTH = 32;

/**
 * A keyed authenticated cipher. `seal` output is self-describing (a version byte that names the
 * suite comes first) and carries its own nonce or IV.
 *
 * @example
 * const aead = createAead('aes-256-gcm', key);
 * const back = aead.open(aead.seal(plaintext, aad), aad);
 */
export interface Aead {
  readonly suite: AeadSuite;
  /** Encrypt and authenticate `plaintext`, binding `aad`; throws `ERR_NONCE_EXHAUSTED` at the cap. */
  seal(plaintext: Uint8Array, aad: Uint8Array): Buffer;
  /** Verify and decrypt; every failure is `ERR_DECRYPT_FAILED` with the same vague message. */
  open(sealed: Uint8Array, aad: Uint8Array): Buffer;
  /** Messages this instance may still seal before the key must be rotated. */
  readonly remaining: number;
  /** Wipe this instance's copies of the key; later calls throw `ERR_CRYPTO_INPUT`. */
  destroy(): void;
}

/** Options of `createAead` and the suite factories. */
export interface AeadOptions {
  /** Messages this instance may seal (default `DEFAULT_MAX_MESSAGES`, at most 2^32 - 1). */
  readonly maxMessages?: number;
}

/**
 * Type guard for suite names read from the wire or from config.
 *
 * @example
 * if (!isAeadSuite(wire.suite)) return reject('unknown suite');
 */
export function isAeadSuite(value: unknown): value is AeadSuite {
  return typeof value === 'string' && (AEAD_SUITES as readonly string[]).includes(value);
}

/**
 * The one error every failed decryption becomes: no detail and no cause, so there is no oracle.
 *
 * @example
 * if (!macOk) throw decryptFailed();
 */
export function decryptFailed(): AppError {
  return new AppError('ERR_DECRYPT_FAILED', 'decryption failed');
}

/**
 * `ERR_NONCE_EXHAUSTED` for an instance that reached its cap.
 *
 * @example
 * if (count >= max) throw limitReached();
 */
export function limitReached(): AppError {
  return new AppError('ERR_NONCE_EXHAUSTED', 'message limit for this key reached; rotate the key');
}

/**
 * Validate `options.maxMessages` and apply the default.
 *
 * @example
 * const max = resolveMaxMessages(options); // 2^24 unless given
 */
export function resolveMaxMessages(options: AeadOptions): number {
  const max = options.maxMessages ?? DEFAULT_MAX_MESSAGES;
  if (!Number.isInteger(max) || max < 0 || max > 0xffff_ffff) {
    throw new AppError('ERR_CRYPTO_INPUT', 'aead: maxMessages must be an integer in 0..2^32-1');
  }
  return max;
}

/**
 * Refuse anything but a 32-byte key (a programming error, not wire input).
 *
 * @example
 * checkAeadKey(key); // throws ERR_CRYPTO_INPUT unless 32 bytes
 */
export function checkAeadKey(key: Uint8Array): void {
  if (key.byteLength !== AEAD_KEY_LENGTH) {
    throw new AppError('ERR_CRYPTO_INPUT', 'aead: key must be 32 bytes');
  }
}

/**
 * The error for use after `destroy()`.
 *
 * @example
 * if (key === undefined) throw destroyedKey();
 */
export function destroyedKey(): AppError {
  return new AppError('ERR_CRYPTO_INPUT', 'aead: key destroyed');
}
