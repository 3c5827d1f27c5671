/**
 * AES-256-CBC + HMAC-SHA256, encrypt-then-MAC: the CBC option for rooms. CBC never appears without
 * the MAC, the MAC is checked in constant time before any decryption, and a bad MAC or bad padding
 * give the same error, so there is no padding oracle.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { AppError } from '../errors.js';
import {
  checkAeadKey,
  decryptFailed,
  destroyedKey,
  limitReached,
  resolveMaxMessages,
  type Aead,
  type AeadOptions,
} from './aead-types.js';
import { constantTimeEqual, wipe } from './bytes.js';
import { hkdfSha256, Labels } from './hkdf.js';
import { fillRandom } from './random.js';

/** Version byte of the CBC-HMAC sealed format (also names the suite). */
export const CBC_HMAC_SEALED_VERSION = 0x02;
const IV_LENGTH = 16;
const BLOCK = 16;
const MAC_LENGTH = 32;
const IV_AT = 1;
const BODY_AT = IV_AT + IV_LENGTH;
/** Smallest sealed message: version ‖ IV ‖ one block ‖ MAC. */
const MIN_SEALED = BODY_AT + BLOCK + MAC_LENGTH;

/**
 * Build the CBC-HMAC `Aead` (normally through `createAead('aes-256-cbc-hmac-sha256', key)`).
 * Sealed format:
 *
 * ```
 * 0x02 ‖ IV(16, random) ‖ AES-256-CBC-PKCS7(encKey, IV, plaintext) ‖ mac(32)
 * mac = HMAC-SHA256(macKey, 0x02 ‖ u64 len(aad) ‖ aad ‖ IV ‖ ciphertext)
 * encKey = HKDF(key, "", Labels.cbcHmacEnc, 32); macKey = HKDF(key, "", Labels.cbcHmacMac, 32)
 * ```
 *
 * The two keys are derived once per instance. IVs come from the CSPRNG through a small pool (each
 * pooled byte is used once), which keeps the per-message cost low.
 *
 * @example
 * const aead = createCbcHmacAead(roomKey);
 * const sealed = aead.seal(plaintext, aad);
 */
export function createCbcHmacAead(key: Uint8Array, options: AeadOptions = {}): Aead {
  checkAeadKey(key);
  const maxMessages = resolveMaxMessages(options);
  let encKey: Buffer | undefined = hkdfSha256(key, Buffer.alloc(0), Labels.cbcHmacEnc, 32);
  let macKey: Buffer | undefined = hkdfSha256(key, Buffer.alloc(0), Labels.cbcHmacMac, 32);
  let sealedCount = 0;

  // Scratch for `version ‖ u64 len(aad)`; safe to reuse because all of this is synchronous.
  const prefix = Buffer.alloc(9);
  prefix[0] = CBC_HMAC_SEALED_VERSION;
  const mac = (k: Buffer, aad: Uint8Array, ivAndCiphertext: Uint8Array): Buffer => {
    prefix.writeBigUInt64BE(BigInt(aad.byteLength), 1);
    return createHmac('sha256', k).update(prefix).update(aad).update(ivAndCiphertext).digest();
  };

  return {
    suite: 'aes-256-cbc-hmac-sha256',
    get remaining() {
      return maxMessages - sealedCount;
    },
    seal(plaintext, aad) {
      if (encKey === undefined || macKey === undefined) throw destroyedKey();
      if (sealedCount >= maxMessages) throw limitReached();
      sealedCount++;
      const ctLength = (Math.floor(plaintext.byteLength / BLOCK) + 1) * BLOCK;
      const out = Buffer.allocUnsafe(BODY_AT + ctLength + MAC_LENGTH);
      out[0] = CBC_HMAC_SEALED_VERSION;
      fillRandom(out, IV_AT, IV_LENGTH); // from the CSPRNG pool, each byte handed out once
      const cipher = createCipheriv('aes-256-cbc', encKey, out.subarray(IV_AT, BODY_AT));
      const head = cipher.update(plaintext);
      head.copy(out, BODY_AT);
      cipher.final().copy(out, BODY_AT + head.length);
      const macAt = BODY_AT + ctLength;
      mac(macKey, aad, out.subarray(IV_AT, macAt)).copy(out, macAt);
      return out;
    },
    open(sealed, aad) {
      if (encKey === undefined || macKey === undefined) throw destroyedKey();
      const macAt = sealed.byteLength - MAC_LENGTH;
      if (
        sealed.byteLength < MIN_SEALED ||
        (macAt - BODY_AT) % BLOCK !== 0 ||
        sealed[0] !== CBC_HMAC_SEALED_VERSION
      ) {
        throw decryptFailed();
      }
      const expected = mac(macKey, aad, sealed.subarray(IV_AT, macAt));
      if (!constantTimeEqual(expected, sealed.subarray(macAt))) throw decryptFailed();
      try {
        const decipher = createDecipheriv('aes-256-cbc', encKey, sealed.subarray(IV_AT, BODY_AT));
        const head = decipher.update(sealed.subarray(BODY_AT, macAt));
        const tail = decipher.final();
        return tail.length === 0 ? head : Buffer.concat([head, tail]);
      } catch {
        throw decryptFailed();
      }
    },
    destroy() {
      wipe(encKey);
      wipe(macKey);
      encKey = undefined;
      macKey = undefined;
    },
  };
}

/**
 * @internal Bare AES-CBC with PKCS#7 padding and no MAC: unauthenticated, so only the Wycheproof
 * test may call it. Takes 16/24/32-byte keys to cover every Wycheproof group.
 */
export const _rawAesCbc = {
  encrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Buffer {
    const cipher = createCipheriv(cbcAlgorithm(key), key, iv);
    return Buffer.concat([cipher.update(plaintext), cipher.final()]);
  },
  decrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Buffer {
    const decipher = createDecipheriv(cbcAlgorithm(key), key, iv);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  },
};

function cbcAlgorithm(key: Uint8Array): 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc' {
  switch (key.byteLength) {
    case 16:
      return 'aes-128-cbc';
    case 24:
      return 'aes-192-cbc';
    case 32:
      return 'aes-256-cbc';
    default:
      throw new AppError('ERR_CRYPTO_INPUT', 'aes-cbc: bad key size');
  }
}
