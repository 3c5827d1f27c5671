/**
 * HKDF-SHA256 (RFC 5869) with mandatory, per-purpose `info` labels, so that a key derived for one
 * purpose can never equal a key derived for another from the same secret.
 */
import { hkdfSync, type KeyObject } from 'node:crypto';
import { AppError } from '../errors.js';

/**
 * Every HKDF `info` label conclave uses, one per key purpose. Add a new label rather than reuse
 * one; a test checks they stay distinct. Labels may be extended with context via
 * `encodeFields(label, [...])` and passed as bytes.
 *
 * @example
 * const sessionKey = hkdfSha256(sharedSecret, transcriptHash, Labels.handshake, 32);
 */
export const Labels = {
  /** Session keys from the handshake's ECDH output or transported secret, salted by the transcript. */
  handshake: 'conclave/v1 handshake',
  /** The four session chain keys from `ikm ‖ sak`, salted by the transcript hash (protocol §2.6). */
  session: 'conclave/v1 session',
  /** Per-request keys from a session's chain key. */
  sessionChain: 'conclave/v1 session-chain',
  /** The session authentication key the responder issues. */
  sessionAuth: 'conclave/v1 session-auth',
  /** A session's epoch-0 re-key root, when the handshake hands over chain keys only. */
  sessionRoot: 'conclave/v1 session-root',
  /** A session re-key: next root and chain keys from the old root and a fresh X25519 secret. */
  sessionRekey: 'conclave/v1 session-rekey',
  /** Key that seals a room epoch key to one member. */
  roomKeyWrap: 'conclave/v1 room-key-wrap',
  /** Per-sender message key from a room epoch key. */
  roomMessage: 'conclave/v1 room-message',
  /** A message as a leaf of its sender's signed batch (a Merkle tree, protocol §5.3). */
  roomMessageLeaf: 'conclave/v1 room-message-leaf',
  /** Key derived from an RSA-OAEP-transported secret. */
  rsaKeyTransport: 'conclave/v1 rsa-key-transport',
  /** Keystore file-wrapping key from the scrypt output. */
  keystore: 'conclave/v1 keystore',
  /** Local at-rest encryption of state kept outside the keystore. */
  storage: 'conclave/v1 storage',
  /** The AES-256-CBC key of the CBC-HMAC suite. */
  cbcHmacEnc: 'conclave/v1 cbc-hmac enc',
  /** The HMAC-SHA256 key of the CBC-HMAC suite. */
  cbcHmacMac: 'conclave/v1 cbc-hmac mac',
  /** Short authentication string from a transcript hash. */
  sas: 'conclave/v1 sas',
  /** Invite-code secrets. */
  invite: 'conclave/v1 invite',
} as const;

/** One of the `Labels` strings. */
export type Label = (typeof Labels)[keyof typeof Labels];

/** Largest output HKDF-SHA256 can produce (255 blocks of 32 bytes). */
export const HKDF_SHA256_MAX_LENGTH = 255 * 32;

/** Longest `info` node:crypto accepts. */
export const HKDF_MAX_INFO_LENGTH = 1024;

/**
 * HKDF-SHA256 (extract then expand). `info` must be non-empty: use a `Labels` entry, or
 * `encodeFields(label, context)` for a label bound to context. `salt` may be empty (RFC 5869 then
 * uses 32 zero bytes). `length` is 1..8160 bytes; `info` at most 1024 bytes.
 *
 * @example
 * const encKey = hkdfSha256(ikm, salt, Labels.cbcHmacEnc, 32);
 * const macKey = hkdfSha256(ikm, salt, Labels.cbcHmacMac, 32);
 */
export function hkdfSha256(
  ikm: Uint8Array | KeyObject,
  salt: Uint8Array,
  info: string | Uint8Array,
  length: number,
): Buffer {
  const infoLength = typeof info === 'string' ? info.length : info.byteLength;
  if (infoLength === 0) {
    throw new AppError('ERR_CRYPTO_INPUT', 'hkdf: info label must not be empty');
  }
  return _rawHkdfSha256(
    ikm,
    salt,
    typeof info === 'string' ? Buffer.from(info, 'utf8') : info,
    length,
  );
}

/**
 * @internal HKDF-SHA256 without the label policy, for the Wycheproof vectors (some use an empty
 * `info`). Application code calls `hkdfSha256`.
 *
 * @example
 * // test/crypto/wycheproof-mac-kdf.test.ts only
 * _rawHkdfSha256(ikm, salt, Buffer.alloc(0), 42);
 */
export function _rawHkdfSha256(
  ikm: Uint8Array | KeyObject,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Buffer {
  if (!Number.isInteger(length) || length < 1 || length > HKDF_SHA256_MAX_LENGTH) {
    throw new AppError('ERR_CRYPTO_INPUT', 'hkdf: output length out of range');
  }
  // Node refuses longer info with its own error type; keep ours.
  if (info.byteLength > HKDF_MAX_INFO_LENGTH) {
    throw new AppError('ERR_CRYPTO_INPUT', 'hkdf: info longer than 1024 bytes');
  }
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}
