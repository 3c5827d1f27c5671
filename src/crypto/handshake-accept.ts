/**
 * The `hs.accept` (protocol §2.3–2.4): the responder builds and signs it for a checked offer and
 * derives the session keys; the requester checks it against the offer it sent (identity binding,
 * signature over [TH, auth], key agreement, opening `auth`). Randomness and time are parameters, so
 * a transcript is byte-for-byte reproducible; the known-answer test freezes one. Secrets (ikm, sak,
 * kHs) are wiped here; nothing logs or throws with secret content.
 */
import type { KeyObject } from 'node:crypto';
import { AppError } from '../errors.js';
import type {
  HandshakeAccept,
  HandshakeOffer,
  HandshakeSuite,
} from '../protocol/handshake.codec.js';
import { gcmOpen, gcmSeal } from './aead.js';
import { fromBase64Url, toBase64Url, wipe } from './bytes.js';
import {
  deriveChains,
  deriveStage,
  transcriptHash,
  transcriptIds,
  type HandshakeKeys,
} from './handshake-key-schedule.js';
import { importRsaTransportKey } from './handshake-keys.js';
import { checkIdentity } from './handshake-offer.js';
import type { Identity } from './identity.js';
import { rsaUnwrapKey, rsaWrapKey } from './rsa-oaep.js';
import { sign, SignatureDomains, verify } from './signature.js';
import { x25519SharedSecret, type X25519KeyPair } from './x25519.js';

/** kHs is used for exactly one seal (the `auth` field), so a fixed all-zero nonce is safe. */
const AUTH_NONCE = Buffer.alloc(12);

/** Inputs of `buildAccept`: all randomness and time are given. */
export interface BuildAcceptParams {
  readonly identity: Identity;
  readonly offer: HandshakeOffer;
  readonly suite: HandshakeSuite;
  readonly ts: number;
  /** 32 random bytes. */
  readonly nonce: Uint8Array;
  /** The session authentication key: 32 random bytes. */
  readonly sak: Uint8Array;
  /** Our fresh ephemeral (x25519 suite). */
  readonly eph?: X25519KeyPair;
  /** 32 random bytes to transport (RSA suite). */
  readonly rsaSecret?: Uint8Array;
}

/**
 * Build and sign the `hs.accept` for an offer whose checks passed, and derive the keys. Throws
 * `ERR_WEAK_KEY` for a low-order peer ephemeral, `ERR_CRYPTO_INPUT`/`ERR_WEAK_KEY` for an unusable
 * RSA transport key, `ERR_INVALID_ARGUMENT` when the suite's material is missing.
 *
 * @example
 * const { accept, keys } = buildAccept({ identity: me, offer, suite, ts: Date.now(),
 *   nonce: randomBytes(32), sak: randomBytes(32), eph: generateX25519KeyPair() });
 */
export function buildAccept(p: BuildAcceptParams): {
  accept: HandshakeAccept;
  keys: HandshakeKeys;
} {
  if (p.nonce.byteLength !== 32 || p.sak.byteLength !== 32) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'accept: nonce and sak are 32 bytes');
  }
  let ikm: Buffer;
  let eph: string | null = null;
  let wrapped: string | null = null;
  if (p.suite === 'x25519-aes256gcm') {
    if (p.eph === undefined || p.offer.eph === null) {
      throw new AppError('ERR_INVALID_ARGUMENT', 'accept: x25519 needs both ephemerals');
    }
    ikm = x25519SharedSecret(p.eph.privateKey, fromBase64Url(p.offer.eph, 32));
    eph = toBase64Url(p.eph.publicKeyRaw);
  } else {
    if (p.rsaSecret?.byteLength !== 32 || p.offer.rsaKey === null) {
      throw new AppError('ERR_INVALID_ARGUMENT', 'accept: rsa needs a 32-byte secret and rsaKey');
    }
    const transport = importRsaTransportKey(p.offer.rsaKey);
    wrapped = toBase64Url(rsaWrapKey(transport, p.rsaSecret, fromBase64Url(p.offer.sid)));
    ikm = Buffer.from(p.rsaSecret);
  }
  const part = {
    v: 1 as const,
    type: 'hs.accept' as const,
    sid: p.offer.sid,
    from: p.identity.fingerprint,
    kind: p.identity.kind,
    publicKey: toBase64Url(p.identity.publicKeyBytes),
    eph,
    wrapped,
    nonce: toBase64Url(p.nonce),
    ts: p.ts,
    suite: p.suite,
  };
  const th = transcriptHash(p.offer, part);
  const { kHs, kConfirm } = deriveStage(ikm, th);
  const auth = gcmSeal(kHs, AUTH_NONCE, p.sak, th);
  wipe(kHs);
  const sig = sign(p.identity.privateKey, SignatureDomains.handshakeResponse, [th, auth]);
  const chains = deriveChains(ikm, p.sak, th);
  wipe(ikm);
  return {
    accept: { ...part, auth: toBase64Url(auth), sig: toBase64Url(sig) },
    keys: { th, ...transcriptIds(th), kConfirm, chains },
  };
}

/** The requester's private material for its offer. */
export interface RequesterSecrets {
  readonly eph?: X25519KeyPair;
  readonly rsaPrivateKey?: KeyObject;
}

/** What the requester learns about an accept from cryptography alone. */
export interface AcceptCheck {
  readonly identityMatches: boolean;
  readonly signatureValid: boolean;
  /** Only tried after a valid signature; `false` otherwise. */
  readonly authOpened: boolean;
  readonly keyId: string;
  readonly sas: string;
  /** Present iff `authOpened`. */
  readonly keys: HandshakeKeys | undefined;
}

function requesterIkm(
  offer: HandshakeOffer,
  accept: HandshakeAccept,
  s: RequesterSecrets,
): Buffer | undefined {
  try {
    if (accept.suite === 'x25519-aes256gcm') {
      if (s.eph === undefined || accept.eph === null || offer.eph === null) return undefined;
      return x25519SharedSecret(s.eph.privateKey, fromBase64Url(accept.eph, 32));
    }
    if (s.rsaPrivateKey === undefined || accept.wrapped === null) return undefined;
    return rsaUnwrapKey(s.rsaPrivateKey, fromBase64Url(accept.wrapped), fromBase64Url(offer.sid));
  } catch {
    return undefined;
  }
}

/**
 * Check an accept against the offer we sent: identity binding, signature over [TH, auth], then
 * (only if both hold) key agreement and opening `auth`. Never throws.
 *
 * @example
 * const check = checkAccept(offer, accept, { eph });
 * if (check.keys) useKeys(check.keys);
 */
export function checkAccept(
  offer: HandshakeOffer,
  accept: HandshakeAccept,
  secrets: RequesterSecrets,
): AcceptCheck {
  const th = transcriptHash(offer, accept);
  const ids = transcriptIds(th);
  const { identityMatches, peer } = checkIdentity(accept.from, accept.kind, accept.publicKey);
  const auth = fromBase64Url(accept.auth);
  const signatureValid =
    identityMatches &&
    peer !== undefined &&
    verify(
      peer.publicKey,
      SignatureDomains.handshakeResponse,
      [th, auth],
      fromBase64Url(accept.sig),
    );
  const none = { identityMatches, signatureValid, authOpened: false, ...ids, keys: undefined };
  if (!signatureValid) return none;
  const ikm = requesterIkm(offer, accept, secrets);
  if (ikm === undefined) return none;
  const { kHs, kConfirm } = deriveStage(ikm, th);
  let sak: Buffer;
  try {
    sak = gcmOpen(kHs, AUTH_NONCE, auth, th);
  } catch {
    wipe(ikm);
    wipe(kConfirm);
    return none;
  } finally {
    wipe(kHs);
  }
  const chains = deriveChains(ikm, sak, th);
  wipe(ikm);
  wipe(sak);
  return { ...none, authOpened: true, keys: { th, ...ids, kConfirm, chains } };
}
