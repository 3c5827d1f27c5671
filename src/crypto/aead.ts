/**
 * AES-256-GCM with the checks Node leaves to the caller (exact key, nonce and tag lengths; the tag
 * length is always pinned to 16 so truncated tags cannot verify), a sealer whose nonces cannot
 * repeat under one key, and the `createAead` factory the protocol uses to pick a suite per room.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { AppError } from '../errors.js';
import {
  checkAeadKey,
  decryptFailed,
  destroyedKey,
  limitReached,
  resolveMaxMessages,
  type Aead,
  type AeadOptions,
  type AeadSuite,
} from './aead-types.js';
import { wipe } from './bytes.js';
import { createCbcHmacAead } from './cbc-hmac.js';
import { fillRandom } from './random.js';

/** GCM nonce length: only 96-bit nonces are accepted. */
export const GCM_NONCE_LENGTH = 12;
/** GCM tag length: only full 128-bit tags are produced or accepted. */
export const GCM_TAG_LENGTH = 16;
/** Always passed to Node: without it, Node accepts 4..15-byte tags. */
const TAG_OPTIONS = { authTagLength: 16 } as const;

/**
 * Write a fresh random 96-bit nonce at `out[at, at + 12)`, for keys that seal few messages each
 * (a KEK wraps one key per epoch), where a counter would need state kept across restarts. Drawn
 * from the CSPRNG pool (`random.ts`: one call per 4 KiB, each byte handed out once).
 *
 * @example
 * const sealed = Buffer.allocUnsafe(12 + 32 + 16);
 * fillRandomNonce(sealed, 0);
 */
export function fillRandomNonce(out: Uint8Array, at = 0): void {
  fillRandom(out, at, GCM_NONCE_LENGTH);
}

/**
 * Build an `Aead` for a 32-byte key and the room's suite.
 *
 * @example
 * const aead = createAead('aes-256-gcm', roomMessageKey, { maxMessages: 100_000 });
 * const aad = encodeFields('conclave/v1 room-message', [roomId, epoch, senderId, messageId]);
 * const sealed = aead.seal(plaintext, aad);
 * const back = aead.open(sealed, aad);
 */
export function createAead(suite: AeadSuite, key: Uint8Array, options: AeadOptions = {}): Aead {
  switch (suite) {
    case 'aes-256-gcm':
      return createGcmSealer(key, options);
    case 'aes-256-cbc-hmac-sha256':
      return createCbcHmacAead(key, options);
  }
}

/**
 * Encrypt with AES-256-GCM; returns `ciphertext ‖ tag(16)`. The caller owns nonce uniqueness, so
 * prefer `createAead`/`createGcmSealer`, which manage nonces.
 *
 * @example
 * const ct = gcmSeal(key, nonce12, plaintext, aad);
 */
export function gcmSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Buffer {
  checkAeadKey(key);
  if (nonce.byteLength !== GCM_NONCE_LENGTH) {
    throw new AppError('ERR_CRYPTO_INPUT', 'aes-gcm: nonce must be 12 bytes');
  }
  const cipher = createCipheriv('aes-256-gcm', key, nonce, TAG_OPTIONS);
  cipher.setAAD(aad);
  const ct = cipher.update(plaintext);
  cipher.final();
  const out = Buffer.allocUnsafe(ct.length + GCM_TAG_LENGTH);
  ct.copy(out, 0);
  cipher.getAuthTag().copy(out, ct.length);
  return out;
}

/**
 * Verify and decrypt `ciphertext ‖ tag(16)` from `gcmSeal`. A nonce other than 12 bytes or an input
 * shorter than a full tag is rejected before Node sees it; every failure is `ERR_DECRYPT_FAILED`.
 *
 * @example
 * const plaintext = gcmOpen(key, nonce12, ciphertextWithTag, aad);
 */
export function gcmOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertextWithTag: Uint8Array,
  aad: Uint8Array,
): Buffer {
  checkAeadKey(key);
  return openCore(key, nonce, ciphertextWithTag, undefined, aad);
}

/**
 * @internal `gcmOpen` for 16/24/32-byte keys, only for the Wycheproof AES-128/192 groups. Nonce and
 * tag checks are exactly `gcmOpen`'s; application code uses AES-256 only.
 *
 * @example
 * // test/crypto/wycheproof-aes.test.ts only
 * _gcmOpenAnyKeySize(key16, iv12, Buffer.concat([ct, tag]), aad);
 */
export function _gcmOpenAnyKeySize(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertextWithTag: Uint8Array,
  aad: Uint8Array,
): Buffer {
  if (![16, 24, 32].includes(key.byteLength))
    throw new AppError('ERR_CRYPTO_INPUT', 'bad key size');
  return openCore(key, nonce, ciphertextWithTag, undefined, aad);
}

/** Version byte of the GCM sealed format (also names the suite). */
export const GCM_SEALED_VERSION = 0x01;
const GCM_HEADER = Buffer.of(GCM_SEALED_VERSION);
const PREFIX_LENGTH = 8;
const NONCE_AT = 1;
const BODY_AT = NONCE_AT + GCM_NONCE_LENGTH;
/** Bytes a GCM `seal` adds: version(1) ‖ nonce(12) ‖ … ‖ tag(16). */
export const GCM_SEALED_OVERHEAD = BODY_AT + GCM_TAG_LENGTH;

/**
 * An AES-256-GCM `Aead` whose nonces cannot repeat under one key. Sealed format:
 *
 * ```
 * 0x01 ‖ nonce(12) ‖ ciphertext ‖ tag(16)
 * nonce = prefix(8, random per sealer) ‖ counter(4, big-endian, from 0)
 * ```
 *
 * GCM's AAD is `0x01 ‖ aad`, so the version byte is authenticated too. Within a sealer the counter
 * is reserved before use and never repeats; the sealer refuses past `maxMessages`. Two sealers on
 * one key (several senders, or a restart) collide only if their random 64-bit prefixes match:
 * about n²/2^65 for n sealers, so no counter needs persisting. The prefix is 64 bits rather than 32
 * because 32 counter bits already exceed any sane cap. No randomness is drawn per message.
 *
 * @example
 * const sealer = createGcmSealer(key, { maxMessages: 100_000 });
 * const sealed = sealer.seal(Buffer.from('hi'), aad);
 */
export function createGcmSealer(key: Uint8Array, options: AeadOptions = {}): Aead {
  checkAeadKey(key);
  const maxMessages = resolveMaxMessages(options);
  let ownKey: Buffer | undefined = Buffer.from(key);
  // The nonce lives in one scratch buffer: prefix written once, counter rewritten per message.
  const nonce = Buffer.alloc(GCM_NONCE_LENGTH);
  fillRandom(nonce, 0, PREFIX_LENGTH);
  let counter = 0;

  return {
    suite: 'aes-256-gcm',
    get remaining() {
      return maxMessages - counter;
    },
    seal(plaintext, aad) {
      if (ownKey === undefined) throw destroyedKey();
      if (counter >= maxMessages) throw limitReached();
      nonce.writeUInt32BE(counter++, PREFIX_LENGTH);
      const cipher = createCipheriv('aes-256-gcm', ownKey, nonce, TAG_OPTIONS);
      cipher.setAAD(GCM_HEADER);
      cipher.setAAD(aad);
      const ct = cipher.update(plaintext);
      cipher.final();
      const out = Buffer.allocUnsafe(GCM_SEALED_OVERHEAD + ct.length);
      out[0] = GCM_SEALED_VERSION;
      out.set(nonce, NONCE_AT);
      out.set(ct, BODY_AT);
      out.set(cipher.getAuthTag(), BODY_AT + ct.length);
      return out;
    },
    open(sealed, aad) {
      if (ownKey === undefined) throw destroyedKey();
      if (sealed.byteLength < GCM_SEALED_OVERHEAD || sealed[0] !== GCM_SEALED_VERSION) {
        throw decryptFailed();
      }
      const tagAt = sealed.byteLength - GCM_TAG_LENGTH;
      return decrypt(
        ownKey,
        sealed.subarray(NONCE_AT, BODY_AT),
        sealed.subarray(BODY_AT, tagAt),
        sealed.subarray(tagAt),
        GCM_HEADER,
        aad,
      );
    },
    destroy() {
      wipe(ownKey);
      ownKey = undefined;
    },
  };
}

function openCore(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertextWithTag: Uint8Array,
  header: Uint8Array | undefined,
  aad: Uint8Array,
): Buffer {
  // Checked here, not left to Node: Node would take 4..15-byte tags and odd nonce sizes.
  if (nonce.byteLength !== GCM_NONCE_LENGTH || ciphertextWithTag.byteLength < GCM_TAG_LENGTH) {
    throw decryptFailed();
  }
  const tagAt = ciphertextWithTag.byteLength - GCM_TAG_LENGTH;
  return decrypt(
    key,
    nonce,
    ciphertextWithTag.subarray(0, tagAt),
    ciphertextWithTag.subarray(tagAt),
    header,
    aad,
  );
}

/** The one place GCM decryption happens; callers have checked nonce and tag lengths. */
function decrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  header: Uint8Array | undefined,
  aad: Uint8Array,
): Buffer {
  const algorithm =
    key.byteLength === 32 ? 'aes-256-gcm' : key.byteLength === 24 ? 'aes-192-gcm' : 'aes-128-gcm';
  try {
    const decipher = createDecipheriv(algorithm, key, nonce, TAG_OPTIONS);
    if (header !== undefined) decipher.setAAD(header);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const plaintext = decipher.update(ciphertext);
    decipher.final();
    return plaintext;
  } catch {
    throw decryptFailed();
  }
}
