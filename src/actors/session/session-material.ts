/**
 * What a completed handshake hands to a session (protocol §2.6), and the naming of a session's
 * directions and channels used in AAD.
 */
import { AppError } from '../../errors.js';
import { SID_PATTERN } from '../../protocol/sealed.codec.js';

/** The side of the handshake this peer played. */
export type SessionRole = 'requester' | 'responder';

/** Which way a message travels, named by handshake roles: `i2r` = requester → responder. */
export type Direction = 'i2r' | 'r2i';

/** What a sealed message is: a request, the response to one, or a push frame. */
export type Channel = 'requests' | 'responses' | 'push';

/** The four 32-byte chain keys, assigned to send/receive by this peer's role. */
export interface SessionChains {
  readonly sendRequests: Uint8Array;
  readonly recvRequests: Uint8Array;
  readonly sendPush: Uint8Array;
  readonly recvPush: Uint8Array;
}

/**
 * Session material from the handshake. `createSessionCrypto` takes ownership: it copies the chain
 * keys (and `root`) and wipes these buffers. `root`, when the handshake provides one, is the 32-byte
 * secret re-keying starts from; otherwise it is derived from the four chain keys (§4.3).
 */
export interface SessionMaterial {
  readonly sid: string;
  readonly peerId: string;
  readonly role: SessionRole;
  /** First 8 bytes of SHA-256(TH), hex: names epoch 0 in events. */
  readonly keyId: string;
  readonly suite: string;
  readonly chains: SessionChains;
  readonly root?: Uint8Array;
}

/** The direction this peer sends in. */
export function ownDirection(role: SessionRole): Direction {
  return role === 'requester' ? 'i2r' : 'r2i';
}

/** The direction the peer sends in. */
export function peerDirection(role: SessionRole): Direction {
  return role === 'requester' ? 'r2i' : 'i2r';
}

/**
 * Refuse material that cannot be right (a programming error, not wire input).
 *
 * @example
 * checkMaterial(material); // throws ERR_INVALID_ARGUMENT
 */
export function checkMaterial(material: SessionMaterial): void {
  const bad = (what: string): never => {
    throw new AppError('ERR_INVALID_ARGUMENT', `session material: ${what}`);
  };
  if (!SID_PATTERN.test(material.sid)) bad('sid must be 8–64 base64url characters');
  if (material.role !== 'requester' && material.role !== 'responder') bad('unknown role');
  if (!/^[0-9a-f]{16}$/.test(material.keyId)) bad('keyId must be 16 hex digits');
  const { chains } = material;
  for (const key of [chains.sendRequests, chains.recvRequests, chains.sendPush, chains.recvPush]) {
    if (!(key instanceof Uint8Array) || key.byteLength !== 32) bad('chain keys must be 32 bytes');
  }
  if (material.root !== undefined && material.root.byteLength !== 32) bad('root must be 32 bytes');
}
