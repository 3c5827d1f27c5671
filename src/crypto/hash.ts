/**
 * SHA-256 and HMAC-SHA256. MACs are always full 32-byte tags and are checked in constant time.
 */
import { createHash, createHmac, type KeyObject } from 'node:crypto';
import { constantTimeEqual } from './bytes.js';

/** Length in bytes of a SHA-256 digest and of an HMAC-SHA256 tag. */
export const SHA256_LENGTH = 32;

/**
 * SHA-256 of one byte string or of the concatenation of several (use `encodeFields` first when the
 * parts are not fixed-length: a bare concatenation is ambiguous).
 *
 * @example
 * const transcriptHash = sha256(encodeFields('conclave/v1 transcript', [request, response]));
 */
export function sha256(data: Uint8Array | ReadonlyArray<Uint8Array>): Buffer {
  const hash = createHash('sha256');
  if (data instanceof Uint8Array) hash.update(data);
  else for (const part of data) hash.update(part);
  return hash.digest();
}

/**
 * HMAC-SHA256 over one byte string or the concatenation of several.
 *
 * @example
 * const tag = hmacSha256(macKey, [header, body]);
 */
export function hmacSha256(
  key: Uint8Array | KeyObject,
  data: Uint8Array | ReadonlyArray<Uint8Array>,
): Buffer {
  const hmac = createHmac('sha256', key);
  if (data instanceof Uint8Array) hmac.update(data);
  else for (const part of data) hmac.update(part);
  return hmac.digest();
}

/**
 * Check a full-length (32-byte) HMAC-SHA256 tag in constant time. Truncated tags are refused:
 * nothing in conclave sends them.
 *
 * @example
 * if (!hmacSha256Verify(macKey, body, tag)) return drop('bad mac');
 */
export function hmacSha256Verify(
  key: Uint8Array | KeyObject,
  data: Uint8Array | ReadonlyArray<Uint8Array>,
  tag: Uint8Array,
): boolean {
  if (tag.byteLength !== SHA256_LENGTH) return false;
  return constantTimeEqual(hmacSha256(key, data), tag);
}
