/**
 * Long-term identities. A peer id is the fingerprint of its public key (`fingerprint.ts`):
 * lowercase hex SHA-256 of the SPKI DER, so ids cannot be chosen apart from keys. Public keys
 * travel as base64url SPKI and are imported once (a small LRU keeps the parsed `KeyObject`s).
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { AppError } from '../errors.js';
import { fromBase64Url, toBase64Url } from './bytes.js';
import { fingerprintOf } from './fingerprint.js';
import {
  isAllowedKey,
  keyKindOf,
  MIN_RSA_BITS,
  RSA_PSS_SALT_LENGTH,
  type IdentityKind,
} from './signature.js';

export type { IdentityKind } from './signature.js';
export {
  fingerprintOf,
  formatFingerprint,
  isFingerprint,
  parseFingerprint,
  shortPeerId,
} from './fingerprint.js';

/** A peer's public identity: what we learn from the wire and pin. */
export interface PeerPublicKey {
  readonly kind: IdentityKind;
  readonly publicKey: KeyObject;
  /** SPKI DER; shared with the import cache, so treat it as read-only. */
  readonly publicKeyBytes: Buffer;
  /** Lowercase hex SHA-256 of `publicKeyBytes`; this is the peer id. */
  readonly fingerprint: string;
}

/** Our own identity: the public part plus the private key. */
export interface Identity extends PeerPublicKey {
  readonly privateKey: KeyObject;
}

/** Largest SPKI we import (RSA up to 8192 bits fits). */
const MAX_SPKI_BYTES = 1200;
const CACHE_SIZE = 256;
const cache = new Map<string, PeerPublicKey>();

/**
 * Generate an identity: Ed25519, or RSA-PSS 3072 (e = 65537, SHA-256, MGF1-SHA256, salt 32) off
 * the event loop (RSA takes around a second).
 *
 * @example
 * const me = await generateIdentity('ed25519');
 * console.log(formatFingerprint(me.fingerprint));
 */
export async function generateIdentity(kind: IdentityKind): Promise<Identity> {
  const { privateKey, publicKey } =
    kind === 'ed25519' ? generateKeyPairSync('ed25519') : await generateRsaPssKeyPair();
  return identityFrom(privateKey, publicKey);
}

function generateRsaPssKeyPair(): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  const options = {
    modulusLength: MIN_RSA_BITS,
    publicExponent: 0x10001,
    hashAlgorithm: 'sha256',
    mgf1HashAlgorithm: 'sha256',
    // Node wants a number here; @types/node 20 mistypes `saltLength` as a string.
    saltLength: RSA_PSS_SALT_LENGTH as unknown as string,
  };
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa-pss', options, (err, publicKey, privateKey) => {
      if (err) reject(err);
      else resolve({ privateKey, publicKey });
    });
  });
}

/**
 * A public key for the wire: base64url of the SPKI DER.
 *
 * @example
 * const wire = { publicKey: exportPublicKey(me) };
 */
export function exportPublicKey(key: KeyObject | PeerPublicKey): string {
  const der =
    'fingerprint' in key ? key.publicKeyBytes : key.export({ type: 'spki', format: 'der' });
  return toBase64Url(der);
}

/**
 * Import a peer's public key from the wire (base64url SPKI). Accepts Ed25519 and RSA (`rsa` or
 * `rsa-pss`) of at least 3072 bits, and only the canonical DER encoding, so one key has exactly one
 * fingerprint. Throws `ERR_CRYPTO_INPUT` (malformed or unsupported) or `ERR_WEAK_KEY` (small RSA).
 * Results are cached (LRU, 256 entries), so repeated imports are cheap.
 *
 * @example
 * const peer = importPublicKey(wire.publicKey);
 * if (peer.fingerprint !== wire.peerId) return reject('peer id does not match key');
 */
export function importPublicKey(text: string): PeerPublicKey {
  const hit = cache.get(text);
  if (hit !== undefined) {
    cache.delete(text);
    cache.set(text, hit);
    return hit;
  }
  if (text.length > Math.ceil((MAX_SPKI_BYTES * 4) / 3)) {
    throw new AppError('ERR_CRYPTO_INPUT', 'public key too long');
  }
  let der: Buffer;
  let publicKey: KeyObject;
  try {
    der = fromBase64Url(text);
    publicKey = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (cause) {
    throw new AppError('ERR_CRYPTO_INPUT', 'malformed public key', { cause });
  }
  checkIdentityKey(publicKey);
  if (!publicKey.export({ type: 'spki', format: 'der' }).equals(der)) {
    throw new AppError('ERR_CRYPTO_INPUT', 'public key is not canonically encoded');
  }
  const peer: PeerPublicKey = Object.freeze({
    kind: keyKindOf(publicKey) as IdentityKind,
    publicKey,
    publicKeyBytes: der,
    fingerprint: fingerprintOf(der),
  });
  cache.set(text, peer);
  if (cache.size > CACHE_SIZE) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  return peer;
}

/**
 * The private key as PKCS#8 DER, for the keystore only. Wipe the buffer after use.
 *
 * @example
 * const der = exportPrivateKey(me);
 * try { await keystore.putSecret('identity', der); } finally { wipe(der); }
 */
export function exportPrivateKey(identity: Identity): Buffer {
  return identity.privateKey.export({ type: 'pkcs8', format: 'der' });
}

/**
 * Rebuild an identity from PKCS#8 DER. Throws `ERR_CRYPTO_INPUT` if it is not an acceptable
 * identity key, or if `expectedKind` is given and differs.
 *
 * @example
 * const me = importPrivateKey(der, 'ed25519');
 */
export function importPrivateKey(pkcs8: Uint8Array, expectedKind?: IdentityKind): Identity {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new AppError('ERR_CRYPTO_INPUT', 'malformed private key', { cause });
  }
  const identity = identityFrom(privateKey, createPublicKey(privateKey));
  if (expectedKind !== undefined && identity.kind !== expectedKind) {
    throw new AppError(
      'ERR_CRYPTO_INPUT',
      `expected an ${expectedKind} identity, found ${identity.kind}`,
    );
  }
  return identity;
}

function identityFrom(privateKey: KeyObject, publicKey: KeyObject): Identity {
  checkIdentityKey(publicKey);
  const publicKeyBytes = publicKey.export({ type: 'spki', format: 'der' });
  return Object.freeze({
    kind: keyKindOf(publicKey) as IdentityKind,
    privateKey,
    publicKey,
    publicKeyBytes,
    fingerprint: fingerprintOf(publicKeyBytes),
  });
}

function checkIdentityKey(key: KeyObject): void {
  const kind = keyKindOf(key);
  if (kind === undefined) throw new AppError('ERR_CRYPTO_INPUT', 'unsupported identity key type');
  if (!isAllowedKey(key))
    throw new AppError('ERR_WEAK_KEY', 'RSA identity keys must have at least 3072 bits');
  const details = key.asymmetricKeyDetails;
  // An rsa-pss key may pin its parameters; we only speak SHA-256, MGF1-SHA256 and a 32-byte salt.
  if (key.asymmetricKeyType === 'rsa-pss' && details !== undefined) {
    const { hashAlgorithm, mgf1HashAlgorithm, saltLength } = details;
    if (
      (hashAlgorithm !== undefined && hashAlgorithm !== 'sha256') ||
      (mgf1HashAlgorithm !== undefined && mgf1HashAlgorithm !== 'sha256') ||
      (saltLength !== undefined && saltLength > RSA_PSS_SALT_LENGTH)
    ) {
      throw new AppError('ERR_CRYPTO_INPUT', 'rsa-pss key pinned to parameters other than ours');
    }
  }
}
