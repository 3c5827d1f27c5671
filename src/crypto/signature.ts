/**
 * Identity signatures over a domain-separated, length-prefixed encoding (`encodeFields`), never over
 * a bare concatenation: Ed25519, or RSA-PSS (SHA-256, MGF1-SHA256, 32-byte salt) with keys of at
 * least 3072 bits.
 */
import { constants, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { AppError } from '../errors.js';
import { encodeFields, type Field } from './bytes.js';

/** The two identity key families. */
export type IdentityKind = 'ed25519' | 'rsa';

/** Smallest RSA modulus the app-level API signs or verifies with. */
export const MIN_RSA_BITS = 3072;
/** RSA-PSS salt length in bytes (= SHA-256 output length). */
export const RSA_PSS_SALT_LENGTH = 32;
const ED25519_SIGNATURE_LENGTH = 64;

/**
 * Signature domains, one per kind of signed object. A signature made for one domain never verifies
 * for another. Add new ones here rather than reuse.
 *
 * @example
 * const sig = sign(identity.privateKey, SignatureDomains.beacon, [peerId, name, address, sentAt]);
 */
export const SignatureDomains = {
  handshakeRequest: 'conclave/v1 sig handshake-request',
  handshakeResponse: 'conclave/v1 sig handshake-response',
  beacon: 'conclave/v1 sig beacon',
  roomEvent: 'conclave/v1 sig room-event',
  roomMessage: 'conclave/v1 sig room-message',
  /** A sender's signature over the Merkle root of several of its messages (one room and epoch). */
  roomMessages: 'conclave/v1 sig room-messages',
  /** The host's signature over one fan-out batch (room, sequence numbers, envelopes). */
  roomBatch: 'conclave/v1 sig room-batch',
  keyDelivery: 'conclave/v1 sig key-delivery',
  invite: 'conclave/v1 sig invite',
} as const;

/**
 * Sign `encodeFields(domain, fields)` with an identity private key (Ed25519, or RSA ≥ 3072 bits with
 * PSS). Throws `ERR_CRYPTO_INPUT` for any other key.
 *
 * @example
 * const sig = sign(identity.privateKey, SignatureDomains.handshakeRequest, [transcriptHash]);
 */
export function sign(privateKey: KeyObject, domain: string, fields: ReadonlyArray<Field>): Buffer {
  if (privateKey.type !== 'private' || !isAllowedKey(privateKey)) {
    throw new AppError(
      'ERR_CRYPTO_INPUT',
      'sign: expected an Ed25519 or RSA (>= 3072 bits) private key',
    );
  }
  return _rawSign(privateKey, encodeFields(domain, fields));
}

/**
 * Verify a signature made by `sign` for the same domain and fields. Returns `false` for anything
 * wrong (bad or garbage signature, wrong domain, wrong field split, RSA key under 3072 bits,
 * unsupported key); it never throws.
 *
 * @example
 * const fields = [peerId, name, address, sentAt];
 * if (!verify(peer.publicKey, SignatureDomains.beacon, fields, sig)) return drop();
 */
export function verify(
  publicKey: KeyObject,
  domain: string,
  fields: ReadonlyArray<Field>,
  signature: Uint8Array,
): boolean {
  try {
    if (publicKey.type !== 'public' || !isAllowedKey(publicKey)) return false;
    return _rawVerify(publicKey, encodeFields(domain, fields), signature);
  } catch {
    return false;
  }
}

/**
 * The identity kind of a key (`rsa` covers both `rsa` and `rsa-pss` key types), or `undefined`.
 *
 * @example
 * keyKindOf(identity.publicKey); // 'ed25519'
 */
export function keyKindOf(key: KeyObject): IdentityKind | undefined {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return 'ed25519';
  if (type === 'rsa' || type === 'rsa-pss') return 'rsa';
  return undefined;
}

/**
 * Ed25519, or RSA with a modulus of at least `MIN_RSA_BITS`.
 *
 * @example
 * if (!isAllowedKey(peer.publicKey)) return reject('weak key');
 */
export function isAllowedKey(key: KeyObject): boolean {
  const kind = keyKindOf(key);
  if (kind === 'ed25519') return true;
  if (kind === 'rsa') return (key.asymmetricKeyDetails?.modulusLength ?? 0) >= MIN_RSA_BITS;
  return false;
}

/**
 * @internal Sign raw bytes with no domain and no key-size policy. Only `sign` and tests call it.
 *
 * @example
 * const sig = _rawSign(privateKey, encodeFields(domain, fields)); // what sign() does
 */
export function _rawSign(privateKey: KeyObject, message: Uint8Array): Buffer {
  if (keyKindOf(privateKey) === 'ed25519') return nodeSign(null, message, privateKey);
  return nodeSign('sha256', message, {
    key: privateKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: RSA_PSS_SALT_LENGTH,
  });
}

/**
 * @internal Verify raw bytes with no domain and no key-size policy (the Wycheproof RSA-PSS 2048
 * vectors need it). Never throws.
 *
 * @example
 * // test/crypto/wycheproof-signatures.test.ts
 * _rawVerify(publicKey2048, msg, sig);
 */
export function _rawVerify(
  publicKey: KeyObject,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    switch (keyKindOf(publicKey)) {
      case 'ed25519':
        if (signature.byteLength !== ED25519_SIGNATURE_LENGTH) return false;
        return nodeVerify(null, message, publicKey, signature);
      case 'rsa':
        return nodeVerify(
          'sha256',
          message,
          {
            key: publicKey,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: RSA_PSS_SALT_LENGTH,
          },
          signature,
        );
      case undefined:
        return false;
    }
  } catch {
    return false;
  }
}
