/**
 * X25519 ephemeral key agreement. Public keys travel as raw 32 bytes and are imported through JWK,
 * which is about 12x faster in Node than building an SPKI DER. The shared secret is never a key by
 * itself: `x25519DeriveKey` runs it through HKDF, and `x25519SharedSecret` (for transcripts that mix
 * several inputs) refuses the all-zero secret a low-order peer key produces.
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  type X25519KeyPairKeyObjectOptions,
} from 'node:crypto';
import { AppError } from '../errors.js';
import { constantTimeEqual, wipe } from './bytes.js';
import { hkdfSha256 } from './hkdf.js';

/** Length of X25519 public keys, private keys and shared secrets. */
export const X25519_KEY_LENGTH = 32;

/** An ephemeral X25519 key pair; `publicKeyRaw` is what goes on the wire. */
export interface X25519KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicKeyRaw: Buffer;
}

const ZERO = Buffer.alloc(X25519_KEY_LENGTH);
/** RFC 8410 PKCS#8 prefix for a raw X25519 private key (only used to inject fixed test keys). */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * Generate a fresh ephemeral key pair (one per handshake; never reuse).
 *
 * @example
 * const eph = generateX25519KeyPair();
 * send({ ephemeral: toBase64Url(eph.publicKeyRaw) });
 */
export function generateX25519KeyPair(): X25519KeyPair {
  // The raw public key comes out of the keygen job itself, encoded as JWK, never from
  // `publicKey.export()` on the fresh key. On Node 20 a JWK export holds the key's lock while it
  // allocates the result; when that allocation runs a GC which collects the (finished, already
  // unreachable) keygen job, the job's destructor takes the same lock and the whole process hangs
  // for good — the handshake bench froze about one run in three. While the job encodes its own
  // result it is still reachable, so it cannot be collected then.
  const { privateKey, publicKey: jwk } = generateKeyPairSync('x25519', {
    publicKeyEncoding: { format: 'jwk' },
  } as unknown as X25519KeyPairKeyObjectOptions) as unknown as {
    privateKey: KeyObject;
    publicKey: JsonWebKey;
  };
  if (typeof jwk.x !== 'string') throw new AppError('ERR_CRYPTO_INPUT', 'x25519: keygen gave no x');
  const publicKeyRaw = Buffer.from(jwk.x, 'base64url');
  let publicKey: KeyObject | undefined;
  return {
    privateKey,
    publicKeyRaw,
    // Imported on first use (nothing on the handshake path reads it): a KeyObject of its own.
    get publicKey(): KeyObject {
      return (publicKey ??= importX25519PublicKey(publicKeyRaw));
    },
  };
}

/** Fresh ephemeral key pairs with one generated ahead, off the handshake's critical path. */
export interface EphemeralSource {
  /** A pair never handed out before: the one made ahead, or a new one when none is ready. */
  readonly take: () => X25519KeyPair;
  /** Drop the pair made ahead and make no more. */
  readonly close: () => void;
}

/**
 * Keep one ephemeral key pair generated ahead, so a handshake does not wait for the keygen: each
 * `take` hands out the ready pair and schedules the next for when the event loop is free
 * (`setImmediate`, unreferenced — it never keeps the process up). Each pair is handed out once and
 * forgotten by the source; forward secrecy is that of `generateX25519KeyPair`, the spare only
 * lives until the next handshake.
 *
 * @example
 * const ephemerals = createEphemeralSource();
 * initiateHandshake({ ...deps, ephemeral: ephemerals.take }, target);
 */
export function createEphemeralSource(
  generate: () => X25519KeyPair = generateX25519KeyPair,
): EphemeralSource {
  let spare: X25519KeyPair | undefined;
  let refill: NodeJS.Immediate | undefined;
  let closed = false;
  const schedule = (): void => {
    if (closed || refill !== undefined || spare !== undefined) return;
    refill = setImmediate(() => {
      refill = undefined;
      if (!closed && spare === undefined) spare = generate();
    });
    refill.unref();
  };
  return {
    take: () => {
      const pair = spare ?? generate();
      spare = undefined;
      schedule();
      return pair;
    },
    close: () => {
      closed = true;
      spare = undefined;
      if (refill !== undefined) clearImmediate(refill);
      refill = undefined;
    },
  };
}

/**
 * The raw 32-byte form of an X25519 public key (via JWK export, the cheap path).
 *
 * @example
 * const raw = x25519PublicKeyRaw(eph.publicKey);
 */
export function x25519PublicKeyRaw(publicKey: KeyObject): Buffer {
  assertX25519(publicKey, 'public');
  const { x } = publicKey.export({ format: 'jwk' });
  if (typeof x !== 'string')
    throw new AppError('ERR_CRYPTO_INPUT', 'x25519: key has no public part');
  return Buffer.from(x, 'base64url');
}

/**
 * Import a peer's raw 32-byte public key. Any 32 bytes are a valid X25519 input; weak keys are
 * caught when the shared secret comes out all-zero.
 *
 * @example
 * const peer = importX25519PublicKey(fromBase64Url(wire.ephemeral, 32));
 */
export function importX25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== X25519_KEY_LENGTH) {
    throw new AppError('ERR_CRYPTO_INPUT', 'x25519: public key must be 32 bytes');
  }
  const x = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
}

/**
 * Import a raw 32-byte private key. Only for fixed test vectors and golden handshake transcripts;
 * real ephemerals come from `generateX25519KeyPair`.
 *
 * @example
 * const priv = importX25519PrivateKey(Buffer.from(vector.private, 'hex'));
 */
export function importX25519PrivateKey(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== X25519_KEY_LENGTH) {
    throw new AppError('ERR_CRYPTO_INPUT', 'x25519: private key must be 32 bytes');
  }
  const der = Buffer.concat([PKCS8_PREFIX, raw]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    wipe(der);
  }
}

/**
 * The raw X25519 shared secret, refusing the all-zero result (low-order or zero peer key) with
 * `ERR_WEAK_KEY`. The result is key material, not a key: feed it to HKDF (see `x25519DeriveKey`)
 * and wipe it afterwards.
 *
 * @example
 * const dh = x25519SharedSecret(eph.privateKey, peerEphemeral);
 * const keys = hkdfSha256(dh, transcriptHash, Labels.handshake, 64);
 * wipe(dh);
 */
export function x25519SharedSecret(
  privateKey: KeyObject,
  peerPublic: KeyObject | Uint8Array,
): Buffer {
  assertX25519(privateKey, 'private');
  const publicKey =
    peerPublic instanceof Uint8Array ? importX25519PublicKey(peerPublic) : peerPublic;
  assertX25519(publicKey, 'public');
  let secret: Buffer;
  try {
    secret = diffieHellman({ privateKey, publicKey });
  } catch (cause) {
    // With both key types checked, OpenSSL fails only when the result is all-zero.
    throw new AppError('ERR_WEAK_KEY', 'key agreement failed', { cause });
  }
  if (secret.length !== X25519_KEY_LENGTH || constantTimeEqual(secret, ZERO)) {
    wipe(secret);
    throw new AppError('ERR_WEAK_KEY', 'key agreement failed');
  }
  return secret;
}

/** What `x25519DeriveKey` feeds HKDF besides the shared secret. */
export interface DeriveKeyParams {
  /** HKDF salt, e.g. the transcript hash. */
  readonly salt: Uint8Array;
  /** A non-empty `Labels` entry (or `encodeFields(label, context)`). */
  readonly info: string | Uint8Array;
  /** Output length in bytes (default 32). */
  readonly length?: number;
}

/**
 * ECDH then HKDF-SHA256 in one step; the raw shared secret is wiped before returning.
 *
 * @example
 * const sessionKey = x25519DeriveKey(eph.privateKey, peerEphemeralRaw, {
 *   salt: transcriptHash,
 *   info: Labels.handshake,
 * });
 */
export function x25519DeriveKey(
  privateKey: KeyObject,
  peerPublic: KeyObject | Uint8Array,
  params: DeriveKeyParams,
): Buffer {
  const secret = x25519SharedSecret(privateKey, peerPublic);
  try {
    return hkdfSha256(secret, params.salt, params.info, params.length ?? 32);
  } finally {
    wipe(secret);
  }
}

function assertX25519(key: KeyObject, type: 'public' | 'private'): void {
  if (key.type !== type || key.asymmetricKeyType !== 'x25519') {
    throw new AppError('ERR_CRYPTO_INPUT', `x25519: expected an X25519 ${type} key`);
  }
}
