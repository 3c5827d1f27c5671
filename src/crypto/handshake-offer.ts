/**
 * The `hs.offer` (protocol §2.1–2.2): build and sign one with injected randomness and time, and
 * establish the facts about a received one (identity binding, signature). Also the identity check
 * that the accept reuses. No policy: freshness, replay and suite choice are the machines' decision.
 */
import { AppError } from '../errors.js';
import {
  offerFields,
  type HandshakeOffer,
  type HandshakeSuite,
  type UnsignedOffer,
} from '../protocol/handshake.codec.js';
import { fromBase64Url, toBase64Url } from './bytes.js';
import { importPublicKey, type Identity, type PeerPublicKey } from './identity.js';
import { sign, SignatureDomains, verify } from './signature.js';

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

/** Whether `publicKey` imports and matches the claimed `from` and `kind`. Never throws. */
export function checkIdentity(from: string, kind: string, publicKey: string): IdentityCheck {
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
