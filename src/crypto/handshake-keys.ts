/**
 * Key handling for the handshake: the requester's RSA-OAEP transport key on the wire (SPKI,
 * imported once and cached, never parsed from DER twice on the hot path) and X25519 key pairs
 * rebuilt from fixed private bytes (known-answer tests inject their ephemerals this way).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { AppError } from '../errors.js';
import { fromBase64Url, toBase64Url } from './bytes.js';
import { MIN_RSA_BITS } from './signature.js';
import { importX25519PrivateKey, x25519PublicKeyRaw, type X25519KeyPair } from './x25519.js';

const MAX_SPKI_BYTES = 1200;
const CACHE_SIZE = 256;
const rsaCache = new Map<string, KeyObject>();
/** Our own transport keys' wire form, so the DER export happens once per key. */
const exported = new WeakMap<KeyObject, string>();

/**
 * Import the requester's RSA-OAEP transport key from an offer's `rsaKey` (base64url SPKI): an
 * `rsa` (not `rsa-pss`) key of at least 3072 bits, canonically encoded. Results are cached (LRU,
 * 256 entries). Throws `ERR_CRYPTO_INPUT` (malformed, wrong type) or `ERR_WEAK_KEY` (small).
 *
 * @example
 * const transport = importRsaTransportKey(offer.rsaKey);
 * const wrapped = rsaWrapKey(transport, secret, sidBytes);
 */
export function importRsaTransportKey(text: string): KeyObject {
  const hit = rsaCache.get(text);
  if (hit !== undefined) {
    rsaCache.delete(text);
    rsaCache.set(text, hit);
    return hit;
  }
  if (text.length > Math.ceil((MAX_SPKI_BYTES * 4) / 3)) {
    throw new AppError('ERR_CRYPTO_INPUT', 'transport key too long');
  }
  let der: Buffer;
  let key: KeyObject;
  try {
    der = fromBase64Url(text);
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (cause) {
    throw new AppError('ERR_CRYPTO_INPUT', 'malformed transport key', { cause });
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new AppError('ERR_CRYPTO_INPUT', 'transport key must be an RSA (OAEP) key');
  }
  if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new AppError('ERR_WEAK_KEY', 'transport key must have at least 3072 bits');
  }
  if (!key.export({ type: 'spki', format: 'der' }).equals(der)) {
    throw new AppError('ERR_CRYPTO_INPUT', 'transport key is not canonically encoded');
  }
  rsaCache.set(text, key);
  if (rsaCache.size > CACHE_SIZE) {
    const oldest = rsaCache.keys().next();
    if (oldest.done !== true) rsaCache.delete(oldest.value);
  }
  return key;
}

/**
 * The wire form (`rsaKey`) of an RSA-OAEP transport public key: base64url SPKI DER. Compute it
 * once per key (cached per KeyObject); it also primes the import cache.
 *
 * @example
 * const rsaKey = exportRsaTransportKey(transport.publicKey);
 */
export function exportRsaTransportKey(publicKey: KeyObject): string {
  const known = exported.get(publicKey);
  if (known !== undefined) return known;
  if (publicKey.type !== 'public' || publicKey.asymmetricKeyType !== 'rsa') {
    throw new AppError('ERR_CRYPTO_INPUT', 'expected an RSA public key');
  }
  const text = toBase64Url(publicKey.export({ type: 'spki', format: 'der' }));
  importRsaTransportKey(text);
  exported.set(publicKey, text);
  return text;
}

/**
 * An X25519 key pair from fixed private bytes. Only for known-answer tests and benchmarks that
 * need reproducible transcripts; real ephemerals come from `generateX25519KeyPair`.
 *
 * @example
 * const eph = x25519KeyPairFromPrivate(Buffer.alloc(32, 7));
 */
export function x25519KeyPairFromPrivate(raw: Uint8Array): X25519KeyPair {
  const privateKey = importX25519PrivateKey(raw);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicKeyRaw: x25519PublicKeyRaw(publicKey) };
}
