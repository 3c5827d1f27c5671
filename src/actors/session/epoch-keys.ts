/**
 * The keys of one session epoch: four ratchet chains, the root the next re-key starts from, the
 * message keys kept for responses, and the AAD of every (channel, direction). Epoch 0 comes from the
 * handshake's material; every later epoch from `deriveRekeyEpoch` (protocol §4.3).
 */
import { encodeFields, hkdfSha256, Labels, sha256, wipe, type Field } from '../../crypto/index.js';
import {
  createReceivingChain,
  createSendingChain,
  type ReceivingChain,
  type ReceivingChainOptions,
  type SendingChain,
} from '../../crypto/chain.js';
import {
  ownDirection,
  peerDirection,
  type Channel,
  type Direction,
  type SessionMaterial,
  type SessionRole,
} from './session-material.js';

/** `encodeFields` domain of every sealed message's AAD. */
export const SEALED_AAD_DOMAIN = 'conclave/v1 sealed';
const REKEY_DOMAIN = 'conclave/v1 rekey';
const ROOT_DOMAIN = 'conclave/v1 session-root';
const U32 = 2 ** 32;

/**
 * AAD of one sealed message: `encodeFields('conclave/v1 sealed', [sid, epoch, channel, direction,
 * seq])`. The reference form; the hot path uses `aadTemplate`, which produces the same bytes.
 *
 * @example
 * const aad = sealedAad(sid, 0, 'requests', 'i2r', 7);
 */
export function sealedAad(
  sid: string,
  epoch: number,
  channel: Channel,
  direction: Direction,
  seq: number,
): Buffer {
  return encodeFields(SEALED_AAD_DOMAIN, [sid, epoch, channel, direction, seq]);
}

/** AAD for one (sid, epoch, channel, direction), with only the seq changing per message. */
export interface AadTemplate {
  /**
   * The AAD bytes for `seq`. Returns the template's own scratch buffer, rewritten on every call:
   * use it at once (GCM copies AAD when it is set) and never keep it.
   */
  at(seq: number): Buffer;
}

/**
 * The seq is the last `encodeFields` field, a number: tag, length 8, then i64 big-endian. So the
 * encoding of seq 0 is computed once and only its last 8 bytes change per message.
 *
 * @example
 * const aad = aadTemplate(sid, epoch, 'push', 'r2i');
 * gcmSeal(key, nonce, plaintext, aad.at(seq));
 */
export function aadTemplate(
  sid: string,
  epoch: number,
  channel: Channel,
  direction: Direction,
): AadTemplate {
  const scratch = sealedAad(sid, epoch, channel, direction, 0);
  const at = scratch.length - 8;
  return {
    at(seq) {
      scratch.writeUInt32BE(Math.floor(seq / U32), at);
      scratch.writeUInt32BE(seq >>> 0, at + 4);
      return scratch;
    },
  };
}

export interface EpochLimits extends ReceivingChainOptions {
  /** Hard cap on messages per sending chain in one epoch. */
  readonly chainLimit?: number;
}

export interface EpochKeys {
  readonly epoch: number;
  readonly keyId: string;
  /** The root the next re-key mixes with its DH secret; wiped once this epoch stops sending. */
  root: Buffer | undefined;
  /** Sending chains; `undefined` once a newer epoch sends. */
  send: { readonly requests: SendingChain; readonly push: SendingChain } | undefined;
  readonly recv: { readonly requests: ReceivingChain; readonly push: ReceivingChain };
  /** Our requests awaiting a response: seq → the request's message key (the response's key). */
  readonly pending: Map<number, Buffer>;
  /** Peer requests we opened and still owe a response: seq → message key. */
  readonly owed: Map<number, Buffer>;
  readonly aad: {
    readonly sendRequests: AadTemplate;
    readonly recvRequests: AadTemplate;
    readonly sendResponses: AadTemplate;
    readonly recvResponses: AadTemplate;
    readonly sendPush: AadTemplate;
    readonly recvPush: AadTemplate;
  };
  /** Messages sealed or opened under this epoch. */
  messages: number;
  /**
   * When a superseded epoch's receiving keys are wiped (ms); unset while it is current, and while
   * it is the previous epoch of our own re-key that the peer has not been seen to follow yet.
   */
  retireAt: number | undefined;
}

interface EpochInit {
  readonly sid: string;
  readonly role: SessionRole;
  readonly epoch: number;
  readonly keyId: string;
  readonly root: Buffer;
  readonly limits: EpochLimits;
}

interface ChainKeys {
  readonly reqI2R: Uint8Array;
  readonly reqR2I: Uint8Array;
  readonly pushI2R: Uint8Array;
  readonly pushR2I: Uint8Array;
}

function buildEpoch(init: EpochInit, keys: ChainKeys): EpochKeys {
  const { sid, role, epoch, limits } = init;
  const own = ownDirection(role);
  const peer = peerDirection(role);
  const isRequester = role === 'requester';
  const chainLimit = limits.chainLimit === undefined ? {} : { limit: limits.chainLimit };
  return {
    epoch,
    keyId: init.keyId,
    root: init.root,
    send: {
      requests: createSendingChain(isRequester ? keys.reqI2R : keys.reqR2I, chainLimit),
      push: createSendingChain(isRequester ? keys.pushI2R : keys.pushR2I, chainLimit),
    },
    recv: {
      requests: createReceivingChain(isRequester ? keys.reqR2I : keys.reqI2R, limits),
      push: createReceivingChain(isRequester ? keys.pushR2I : keys.pushI2R, limits),
    },
    pending: new Map(),
    owed: new Map(),
    aad: {
      sendRequests: aadTemplate(sid, epoch, 'requests', own),
      recvRequests: aadTemplate(sid, epoch, 'requests', peer),
      sendResponses: aadTemplate(sid, epoch, 'responses', own),
      recvResponses: aadTemplate(sid, epoch, 'responses', peer),
      sendPush: aadTemplate(sid, epoch, 'push', own),
      recvPush: aadTemplate(sid, epoch, 'push', peer),
    },
    messages: 0,
    retireAt: undefined,
  };
}

/**
 * Epoch 0 from the handshake's material. The material's buffers are wiped (the chains copy them).
 * Without `material.root`, the root is HKDF over the four chain keys in i→r, r→i order (§4.3),
 * computed before any of them is used.
 *
 * @example
 * const epoch0 = epochFromMaterial(material, {});
 */
export function epochFromMaterial(material: SessionMaterial, limits: EpochLimits): EpochKeys {
  const { chains, role } = material;
  const isRequester = role === 'requester';
  const keys: ChainKeys = {
    reqI2R: isRequester ? chains.sendRequests : chains.recvRequests,
    reqR2I: isRequester ? chains.recvRequests : chains.sendRequests,
    pushI2R: isRequester ? chains.sendPush : chains.recvPush,
    pushR2I: isRequester ? chains.recvPush : chains.sendPush,
  };
  let root: Buffer;
  if (material.root !== undefined) {
    root = Buffer.from(material.root);
    wipe(material.root);
  } else {
    const ikm = Buffer.concat([keys.reqI2R, keys.reqR2I, keys.pushI2R, keys.pushR2I]);
    const salt = encodeFields(ROOT_DOMAIN, [material.sid, material.keyId]);
    root = hkdfSha256(ikm, salt, Labels.sessionRoot, 32);
    wipe(ikm);
  }
  const { sid, keyId } = material;
  return buildEpoch({ sid, role, epoch: 0, keyId, root, limits }, keys);
}

export interface RekeyDerivation {
  readonly sid: string;
  /** This peer's handshake role (which chains it sends on). */
  readonly role: SessionRole;
  /** The new epoch number. */
  readonly epoch: number;
  /** Handshake role of the peer that sent the `rekey` request. */
  readonly initiator: SessionRole;
  readonly ephInitiator: Uint8Array;
  readonly ephResponder: Uint8Array;
  /** The current epoch's root. Not wiped here. */
  readonly root: Uint8Array;
  /** The fresh X25519 shared secret. Not wiped here. */
  readonly shared: Uint8Array;
  readonly limits: EpochLimits;
}

/**
 * The next epoch: `okm = HKDF-SHA256(root ‖ dh, salt = encodeFields('conclave/v1 rekey', [sid,
 * epoch, initiator, ephI, ephR]), info = Labels.sessionRekey, 160)` split into the next root and
 * the request/push chain keys i→r, r→i. `keyId` = hex of the first 8 bytes of SHA-256(salt): both
 * sides compute it from public values only.
 *
 * @example
 * const next = deriveRekeyEpoch({ sid, role, epoch: 1, initiator: 'requester', ephInitiator,
 *   ephResponder, root: current.root, shared, limits });
 */
export function deriveRekeyEpoch(d: RekeyDerivation): EpochKeys {
  const context: Field[] = [d.sid, d.epoch, d.initiator, d.ephInitiator, d.ephResponder];
  const salt = encodeFields(REKEY_DOMAIN, context);
  const ikm = Buffer.concat([d.root, d.shared]);
  const okm = hkdfSha256(ikm, salt, Labels.sessionRekey, 160);
  wipe(ikm);
  const keyId = sha256(salt).subarray(0, 8).toString('hex');
  const root = Buffer.from(okm.subarray(0, 32));
  const keys: ChainKeys = {
    reqI2R: okm.subarray(32, 64),
    reqR2I: okm.subarray(64, 96),
    pushI2R: okm.subarray(96, 128),
    pushR2I: okm.subarray(128, 160),
  };
  try {
    return buildEpoch({ ...d, keyId, root }, keys);
  } finally {
    wipe(okm);
  }
}

/** Stop sending on an epoch a newer one replaced: wipe its sending chains and its root. */
export function stopSending(e: EpochKeys): void {
  e.send?.requests.destroy();
  e.send?.push.destroy();
  e.send = undefined;
  wipe(e.root);
  e.root = undefined;
}

/** Wipe everything an epoch holds. */
export function destroyEpoch(e: EpochKeys): void {
  stopSending(e);
  e.recv.requests.destroy();
  e.recv.push.destroy();
  for (const key of e.pending.values()) wipe(key);
  for (const key of e.owed.values()) wipe(key);
  e.pending.clear();
  e.owed.clear();
}

/** Keys an epoch still holds (chain-stored plus response keys), for stats. */
export function storedKeyCount(e: EpochKeys): number {
  return e.recv.requests.storedKeys + e.recv.push.storedKeys + e.pending.size + e.owed.size;
}
