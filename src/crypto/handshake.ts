/**
 * The handshake's cryptography (protocol §2) as pure functions over node:crypto: build a signed
 * offer, establish the facts about a received offer or accept, build the accept, the confirm MACs
 * and the session keys. Randomness and time are parameters, so a transcript with injected
 * ephemerals, nonces and `sak` is byte-for-byte reproducible (Ed25519 signatures are
 * deterministic); the known-answer test freezes one.
 *
 * No policy here: whether an offer is fresh, replayed, blocked or uses an acceptable suite is the
 * machines' decision over the facts these functions return. Secrets (ikm, sak, kHs, kConfirm,
 * chain keys) stay in Buffers owned by the caller; nothing here logs or throws with secret content.
 */
import type { KeyObject } from 'node:crypto';
import { AppError } from '../errors.js';
import {
  acceptTranscriptFields,
  offerFields,
  TRANSCRIPT_DOMAIN,
  type HandshakeAccept,
  type HandshakeOffer,
  type HandshakeSuite,
  type UnsignedOffer,
} from '../protocol/handshake.codec.js';
import { gcmOpen, gcmSeal } from './aead.js';
import { constantTimeEqual, encodeFields, fromBase64Url, toBase64Url, wipe } from './bytes.js';
import { hmacSha256, sha256 } from './hash.js';
import { importRsaTransportKey } from './handshake-keys.js';
import { hkdfSha256, Labels } from './hkdf.js';
import { importPublicKey, type Identity, type PeerPublicKey } from './identity.js';
import { rsaUnwrapKey, rsaWrapKey } from './rsa-oaep.js';
import { computeSas } from './sas.js';
import { sign, SignatureDomains, verify } from './signature.js';
import { x25519SharedSecret, type X25519KeyPair } from './x25519.js';

/** kHs is used for exactly one seal (the `auth` field), so a fixed all-zero nonce is safe. */
const AUTH_NONCE = Buffer.alloc(12);
const CONFIRM_LABEL = {
  i: Buffer.from('conclave/v1 confirm i', 'utf8'),
  r: Buffer.from('conclave/v1 confirm r', 'utf8'),
} as const;

/** The four directional chain keys of a session (protocol §2.6), 32 bytes each. */
export interface DirectionalChains {
  readonly requestsIR: Buffer;
  readonly requestsRI: Buffer;
  readonly pushIR: Buffer;
  readonly pushRI: Buffer;
}

/** The chain keys seen from one side: `send*` of one side is `recv*` of the other. */
export interface SessionChains {
  readonly sendRequests: Buffer;
  readonly recvRequests: Buffer;
  readonly sendPush: Buffer;
  readonly recvPush: Buffer;
}

/** Everything a side holds after a successful key exchange. Secrets: never log or record. */
export interface HandshakeKeys {
  /** Transcript hash (public, but only needed here). */
  readonly th: Buffer;
  /** First 8 bytes of SHA-256(TH), hex: the public key id. */
  readonly keyId: string;
  readonly sas: string;
  readonly kConfirm: Buffer;
  readonly chains: DirectionalChains;
}

/** Public identifiers of a transcript hash. */
export function transcriptIds(th: Uint8Array): { keyId: string; sas: string } {
  return { keyId: sha256(th).subarray(0, 8).toString('hex'), sas: computeSas(th) };
}

/** TH = SHA-256(encodeFields('conclave/v1 hs-transcript', acceptTranscriptFields(offer, accept))). */
export function transcriptHash(
  offer: HandshakeOffer,
  accept: Parameters<typeof acceptTranscriptFields>[1],
): Buffer {
  return sha256(encodeFields(TRANSCRIPT_DOMAIN, acceptTranscriptFields(offer, accept)));
}

/** Inputs of `buildOffer`: all randomness and time are given. */
export interface BuildOfferParams {
  readonly identity: Identity;
  /** 16 random bytes. */
  readonly sid: Uint8Array;
  /** 32 random bytes. */
  readonly nonce: Uint8Array;
  /** Our clock, ms since epoch. */
  readonly ts: number;
  /** In our order of preference. */
  readonly suites: readonly HandshakeSuite[];
  readonly to: string | null;
  /** Our ephemeral X25519 public key (raw 32 bytes); required iff x25519 is offered. */
  readonly ephPublic?: Uint8Array;
  /** Our RSA-OAEP transport key, wire form (`exportRsaTransportKey`); required iff RSA is offered. */
  readonly rsaKey?: string;
}

/**
 * Build and sign an `hs.offer`.
 *
 * @example
 * const eph = generateX25519KeyPair();
 * const offer = buildOffer({ identity: me, sid: randomBytes(16), nonce: randomBytes(32),
 *   ts: Date.now(), suites: ['x25519-aes256gcm'], to: null, ephPublic: eph.publicKeyRaw });
 */
export function buildOffer(p: BuildOfferParams): HandshakeOffer {
  const hasX = p.suites.includes('x25519-aes256gcm');
  const hasRsa = p.suites.includes('rsaoaep-aes256gcm');
  if (hasX !== (p.ephPublic !== undefined) || hasRsa !== (p.rsaKey !== undefined)) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'offer: key material does not fit the suites');
  }
  if (p.sid.byteLength !== 16 || p.nonce.byteLength !== 32) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'offer: sid is 16 bytes, nonce 32');
  }
  const unsigned: UnsignedOffer = {
    v: 1,
    type: 'hs.offer',
    sid: toBase64Url(p.sid),
    from: p.identity.fingerprint,
    kind: p.identity.kind,
    publicKey: toBase64Url(p.identity.publicKeyBytes),
    to: p.to,
    eph: p.ephPublic === undefined ? null : toBase64Url(p.ephPublic),
    rsaKey: p.rsaKey ?? null,
    nonce: toBase64Url(p.nonce),
    ts: p.ts,
    suites: [...p.suites],
  };
  const sig = sign(p.identity.privateKey, SignatureDomains.handshakeRequest, offerFields(unsigned));
  return { ...unsigned, sig: toBase64Url(sig) };
}

/** Facts about a peer's claimed identity. */
export interface IdentityCheck {
  readonly identityMatches: boolean;
  /** The imported key when it imported (whether or not it matches `from`/`kind`). */
  readonly peer: PeerPublicKey | undefined;
}

function checkIdentity(from: string, kind: string, publicKey: string): IdentityCheck {
  let peer: PeerPublicKey;
  try {
    peer = importPublicKey(publicKey);
  } catch {
    return { identityMatches: false, peer: undefined };
  }
  return { identityMatches: peer.fingerprint === from && peer.kind === kind, peer };
}

/** What the responder learns about an offer from cryptography alone. */
export interface OfferCheck {
  readonly identityMatches: boolean;
  readonly signatureValid: boolean;
  readonly peer: PeerPublicKey | undefined;
}

/**
 * Check an offer's identity binding and signature. Never throws.
 *
 * @example
 * const { identityMatches, signatureValid } = checkOffer(offer);
 */
export function checkOffer(offer: HandshakeOffer): OfferCheck {
  const { identityMatches, peer } = checkIdentity(offer.from, offer.kind, offer.publicKey);
  let signatureValid = false;
  if (peer !== undefined) {
    try {
      signatureValid = verify(
        peer.publicKey,
        SignatureDomains.handshakeRequest,
        offerFields(offer),
        fromBase64Url(offer.sig),
      );
    } catch {
      signatureValid = false;
    }
  }
  return { identityMatches, signatureValid, peer };
}

function deriveStage(ikm: Uint8Array, th: Uint8Array): { kHs: Buffer; kConfirm: Buffer } {
  const okm = hkdfSha256(ikm, th, Labels.handshake, 64);
  const out = { kHs: Buffer.from(okm.subarray(0, 32)), kConfirm: Buffer.from(okm.subarray(32)) };
  wipe(okm);
  return out;
}

function deriveChains(ikm: Uint8Array, sak: Uint8Array, th: Uint8Array): DirectionalChains {
  const material = Buffer.concat([ikm, sak]);
  const root = hkdfSha256(material, th, Labels.session, 128);
  wipe(material);
  const part = (i: number): Buffer => Buffer.from(root.subarray(i * 32, i * 32 + 32));
  const chains = { requestsIR: part(0), requestsRI: part(1), pushIR: part(2), pushRI: part(3) };
  wipe(root);
  return chains;
}

/**
 * Orient the directional chains for one side.
 *
 * @example
 * const { sendRequests } = chainsFor('requester', keys.chains); // = requests i→r
 */
export function chainsFor(role: 'requester' | 'responder', c: DirectionalChains): SessionChains {
  return role === 'requester'
    ? {
        sendRequests: c.requestsIR,
        recvRequests: c.requestsRI,
        sendPush: c.pushIR,
        recvPush: c.pushRI,
      }
    : {
        sendRequests: c.requestsRI,
        recvRequests: c.requestsIR,
        sendPush: c.pushRI,
        recvPush: c.pushIR,
      };
}

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

/**
 * The confirm MAC of one direction: HMAC-SHA256(kConfirm, 'conclave/v1 confirm i|r' ‖ TH).
 *
 * @example
 * const confirm = { v: 1, type: 'hs.confirm', sid, mac: toBase64Url(confirmMac(keys, 'i')) };
 */
export function confirmMac(keys: Pick<HandshakeKeys, 'kConfirm' | 'th'>, dir: 'i' | 'r'): Buffer {
  return hmacSha256(keys.kConfirm, [CONFIRM_LABEL[dir], keys.th]);
}

/**
 * Check a received confirm MAC in constant time; `false` for anything malformed.
 *
 * @example
 * const macValid = verifyConfirmMac(keys, 'i', confirm.mac);
 */
export function verifyConfirmMac(
  keys: Pick<HandshakeKeys, 'kConfirm' | 'th'>,
  dir: 'i' | 'r',
  mac: string,
): boolean {
  try {
    return constantTimeEqual(confirmMac(keys, dir), fromBase64Url(mac, 32));
  } catch {
    return false;
  }
}

/**
 * Overwrite the secret parts of `keys` (best effort).
 *
 * @example
 * wipeHandshakeKeys(pending.keys); // on failure or timeout
 */
export function wipeHandshakeKeys(keys: HandshakeKeys | undefined): void {
  if (keys === undefined) return;
  wipe(keys.kConfirm);
  const { requestsIR, requestsRI, pushIR, pushRI } = keys.chains;
  for (const k of [requestsIR, requestsRI, pushIR, pushRI]) wipe(k);
}
