/**
 * RSA-OAEP (SHA-256, MGF1-SHA256) key transport for the `rsa-oaep-3072/*` handshake suites: the
 * responder picks a random 32-byte secret and wraps it to the requester's RSA encryption key.
 *
 * RSA-PSS identity keys (key type `rsa-pss`) are restricted to signing by OpenSSL and cannot be
 * used here; the transport key is a separate `rsa` key pair (see `generateRsaOaepKeyPair`).
 */
import {
  constants,
  generateKeyPair,
  privateDecrypt,
  publicEncrypt,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { AppError } from '../errors.js';
import { decryptFailed } from './aead-types.js';
import { Labels } from './hkdf.js';
import { MIN_RSA_BITS } from './signature.js';

/** Length of the secret `rsaWrapKey` transports. */
export const WRAPPED_KEY_LENGTH = 32;
/** OAEP label used when the caller gives none. */
export const DEFAULT_OAEP_LABEL = Buffer.from(Labels.rsaKeyTransport, 'utf8');

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * Generate an RSA-3072 (e = 65537) key pair for OAEP key transport, off the event loop (~0.5-1 s).
 *
 * @example
 * const transport = await generateRsaOaepKeyPair();
 */
export async function generateRsaOaepKeyPair(): Promise<{
  privateKey: KeyObject;
  publicKey: KeyObject;
}> {
  return generateKeyPairAsync('rsa', { modulusLength: MIN_RSA_BITS, publicExponent: 0x10001 });
}

/**
 * Wrap a 32-byte secret to an RSA (≥ 3072-bit, key type `rsa`) public key with OAEP-SHA256.
 * `label` binds the ciphertext to a context (e.g. the transcript hash); the default is
 * `DEFAULT_OAEP_LABEL`.
 *
 * @example
 * const secret = randomBytes(32);
 * const wrapped = rsaWrapKey(peerTransportKey, secret, transcriptHash);
 */
export function rsaWrapKey(publicKey: KeyObject, key: Uint8Array, label?: Uint8Array): Buffer {
  checkRsaKey(publicKey);
  if (key.byteLength !== WRAPPED_KEY_LENGTH) {
    throw new AppError('ERR_CRYPTO_INPUT', 'rsa-oaep: wrapped key must be 32 bytes');
  }
  return publicEncrypt(
    {
      key: publicKey,
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: 'sha256',
      oaepLabel: label ?? DEFAULT_OAEP_LABEL,
    },
    key,
  );
}

/**
 * Unwrap a secret from `rsaWrapKey` with the same `label`. Any failure (wrong key, wrong label,
 * tampered ciphertext, a payload that is not 32 bytes) is `ERR_DECRYPT_FAILED`.
 *
 * @example
 * const secret = rsaUnwrapKey(transport.privateKey, wrapped, transcriptHash);
 */
export function rsaUnwrapKey(
  privateKey: KeyObject,
  wrapped: Uint8Array,
  label?: Uint8Array,
): Buffer {
  checkRsaKey(privateKey);
  const modulusBytes = (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
  if (wrapped.byteLength !== modulusBytes) throw decryptFailed();
  const key = _rawRsaOaepDecrypt(privateKey, wrapped, label ?? DEFAULT_OAEP_LABEL);
  if (key.length !== WRAPPED_KEY_LENGTH) {
    key.fill(0);
    throw decryptFailed();
  }
  return key;
}

/**
 * @internal OAEP-SHA256 decryption with no key-size or payload-length policy, for the Wycheproof
 * 2048/3072 vectors. Failures are `ERR_DECRYPT_FAILED`.
 *
 * @example
 * // test/crypto/wycheproof-rsa-oaep.test.ts only
 * _rawRsaOaepDecrypt(privateKey2048, ct, label);
 */
export function _rawRsaOaepDecrypt(
  privateKey: KeyObject,
  ciphertext: Uint8Array,
  label: Uint8Array,
): Buffer {
  try {
    return privateDecrypt(
      {
        key: privateKey,
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: 'sha256',
        oaepLabel: label,
      },
      ciphertext,
    );
  } catch {
    throw decryptFailed();
  }
}

function checkRsaKey(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'rsa') {
    throw new AppError(
      'ERR_CRYPTO_INPUT',
      'rsa-oaep: expected an RSA encryption key (not rsa-pss)',
    );
  }
  if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new AppError('ERR_WEAK_KEY', 'rsa-oaep: RSA keys must have at least 3072 bits');
  }
}
