/**
 * The handshake's key schedule (protocol §2.5–2.6) and what follows key agreement: the
 * transcript hash and its public ids, the stage keys (kHs, kConfirm) and the four directional chain
 * keys, their orientation per side, the confirm MACs, and wiping. Secrets stay in Buffers owned by
 * the caller.
 */
import {
  acceptTranscriptFields,
  TRANSCRIPT_DOMAIN,
  type HandshakeOffer,
} from '../protocol/handshake.codec.js';
import { constantTimeEqual, encodeFields, fromBase64Url, wipe } from './bytes.js';
import { hmacSha256, sha256 } from './hash.js';
import { hkdfSha256, Labels } from './hkdf.js';
import { computeSas } from './sas.js';

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

/** kHs ‖ kConfirm = HKDF-SHA256(ikm, salt = TH, Labels.handshake, 64), split in two. */
export function deriveStage(ikm: Uint8Array, th: Uint8Array): { kHs: Buffer; kConfirm: Buffer } {
  const okm = hkdfSha256(ikm, th, Labels.handshake, 64);
  const out = { kHs: Buffer.from(okm.subarray(0, 32)), kConfirm: Buffer.from(okm.subarray(32)) };
  wipe(okm);
  return out;
}

/** The four chain keys: HKDF-SHA256(ikm ‖ sak, salt = TH, Labels.session, 128), 32 bytes each. */
export function deriveChains(ikm: Uint8Array, sak: Uint8Array, th: Uint8Array): DirectionalChains {
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
