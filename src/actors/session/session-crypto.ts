/**
 * Sealing and opening of one session's traffic (protocol §3, §4): sealed HTTP requests and
 * responses, sealed push frames, and the epochs re-keying moves through. Synchronous throughout, so
 * concurrent in-flight requests can never draw the same seq.
 *
 * Nonces. Every message key comes out of the ratchet exactly once (the chains hand a seq out once
 * and the replay window accepts it once), so a fixed nonce never repeats under one key:
 * - a request or push frame is sealed under its message key with the all-zero nonce;
 * - the response to request n is sealed under request n's key with nonce 0…01. That key then
 *   protects exactly two messages, under two different nonces, and each is sealed at most once:
 *   the requester seals only the request, the responder only the response (its copy of the key is
 *   wiped as it seals). This saves a ratchet step per request and binds the response to its request.
 * The AAD names sid, epoch, channel, direction and seq, so a message moved anywhere else fails.
 */
import { gcmOpen, gcmSeal, sha256, wipe } from '../../crypto/index.js';
import { DEFAULT_CHAIN_LIMIT, type ReceivingChain } from '../../crypto/chain.js';
import { AppError } from '../../errors.js';
import {
  decodeInnerPush,
  decodeInnerRequest,
  decodeInnerResponse,
  decodePushFrame,
  decodeSealedEnvelope,
  encodeInnerPush,
  encodeInnerRequest,
  encodeInnerResponse,
  encodePushFrame,
  encodeSealedEnvelope,
} from '../../protocol/sealed.codec.js';
import type { DecodeError } from '../../protocol/result.js';
import {
  epochFromMaterial,
  storedKeyCount,
  type EpochKeys,
  type EpochLimits,
} from './epoch-keys.js';
import { createEpochRing } from './epoch-ring.js';
import type {
  Counts,
  FailureReason,
  OpenFailure,
  SessionCrypto,
  SessionCryptoOptions,
} from './session-crypto.types.js';
import { createRekeyProtocol } from './rekey.js';
import { checkMaterial, type Channel, type SessionMaterial } from './session-material.js';

/** How long a superseded epoch's receiving keys stay, for messages already in flight. */
export const DEFAULT_GRACE_MS = 30_000;
/** Default cap on requests awaiting a response (and on responses owed), per epoch. */
export const DEFAULT_MAX_IN_FLIGHT = 1024;

/** Requests and push frames: each message key seals one message. */
const MESSAGE_NONCE = Buffer.alloc(12);
/** Responses: sealed under the request's key, so they need a nonce the request never uses. */
const RESPONSE_NONCE = Buffer.from('000000000000000000000001', 'hex');

export type {
  FailureReason,
  OpenedRequest,
  OpenFailure,
  SealedRef,
  SessionCrypto,
  SessionCryptoObserver,
  SessionCryptoOptions,
  SessionCryptoStats,
} from './session-crypto.types.js';

function failureError(reason: FailureReason): AppError {
  return reason === 'replayed'
    ? new AppError('ERR_REPLAYED', 'message already received')
    : new AppError('ERR_DECRYPT_FAILED', 'decryption failed');
}

function remember(map: Map<number, Buffer>, seq: number, key: Buffer, max: number): void {
  if (map.size >= max) {
    for (const [oldest, old] of map) {
      wipe(old);
      map.delete(oldest);
      break;
    }
  }
  map.set(seq, key);
}

/**
 * Keys and sealing for one session. Takes ownership of `material` (its key buffers are wiped).
 *
 * @example
 * const crypto = createSessionCrypto(material, { observer });
 * const envelope = crypto.sealRequest({ method: 'POST', path: '/rooms/r1/messages', body });
 * const response = crypto.openResponse(envelope, await post(envelope));
 */
export function createSessionCrypto(
  material: SessionMaterial,
  options: SessionCryptoOptions = {},
): SessionCrypto {
  checkMaterial(material);
  const { sid, peerId, role } = material;
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const observer = options.observer ?? {};
  const limits: EpochLimits = {
    ...(options.chainLimit === undefined ? {} : { chainLimit: options.chainLimit }),
    ...(options.window === undefined ? {} : { window: options.window }),
    ...(options.maxSkip === undefined ? {} : { maxSkip: options.maxSkip }),
    ...(options.maxStored === undefined ? {} : { maxStored: options.maxStored }),
  };
  const sidHash = sha256(Buffer.from(`conclave/v1 sid-hash ${sid}`, 'utf8')).subarray(0, 8);
  const ring = createEpochRing(epochFromMaterial(material, limits), {
    now: options.now ?? Date.now,
    graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
    on: observer,
  });
  const { live } = ring;
  const sealed: Counts = { requests: 0, responses: 0, push: 0 };
  const opened: Counts = { requests: 0, responses: 0, push: 0 };
  const failures: Record<FailureReason, number> = {
    'decrypt-failed': 0,
    replayed: 0,
    'unknown-epoch': 0,
  };
  let malformedCount = 0;

  const sending = (e: EpochKeys): NonNullable<EpochKeys['send']> => {
    if (e.send === undefined) throw new AppError('ERR_INTERNAL', 'current epoch cannot send');
    return e.send;
  };

  /** An epoch that opened a message: the peer is on it (see `EpochRing.seen`). */
  const confirm = (e: EpochKeys): void => ring.seen(e);

  const fail = (reason: FailureReason, channel: Channel, epoch: number, seq: number): never => {
    failures[reason]++;
    observer.failed?.({ reason, channel, epoch, seq });
    throw failureError(reason);
  };

  const malformed = (error: DecodeError): never => {
    malformedCount++;
    const code = error.reason === 'oversized' ? 'ERR_BODY_TOO_LARGE' : 'ERR_INVALID_MESSAGE';
    throw new AppError(code, `malformed sealed message (${error.reason})`);
  };

  const lookup = (chain: ReceivingChain, channel: Channel, epoch: number, seq: number): Buffer => {
    const found = chain.lookup(seq);
    if (found.ok) return found.key;
    return fail(found.reason === 'replayed' ? 'replayed' : 'decrypt-failed', channel, epoch, seq);
  };

  const open = (
    key: Buffer,
    nonce: Buffer,
    ciphertext: Buffer,
    aad: Buffer,
    where: OpenFailure,
  ): Buffer => {
    try {
      return gcmOpen(key, nonce, ciphertext, aad);
    } catch {
      return fail('decrypt-failed', where.channel, where.epoch, where.seq);
    }
  };

  const rekey = createRekeyProtocol(
    {
      sid,
      role,
      limits,
      current: live,
      next: ring.next,
      install: ring.install,
      switchTo: ring.promote,
      isPeerBehind: ring.isPeerBehind,
      isPreviousAwaited: () => {
        const cur = live();
        // Past half the chain's budget the re-key goes ahead all the same: a chain that runs out
        // refuses to seal at all.
        if (cur.messages >= (limits.chainLimit ?? DEFAULT_CHAIN_LIMIT) / 2) return false;
        return ring.held().some((e) => e.epoch < cur.epoch && e.pending.size > 0);
      },
    },
    options.generateEphemeral,
  );

  return {
    sid,
    peerId,
    role,
    get epoch() {
      return ring.last().epoch;
    },
    get keyId() {
      return ring.last().keyId;
    },
    get isDestroyed() {
      return ring.isDestroyed;
    },
    get epochMessages() {
      return ring.isDestroyed ? 0 : live().messages;
    },

    sealRequest(inner) {
      const e = live();
      const plaintext = encodeInnerRequest(inner);
      const { seq, key } = sending(e).requests.next();
      const ct = gcmSeal(key, MESSAGE_NONCE, plaintext, e.aad.sendRequests.at(seq));
      remember(e.pending, seq, key, maxInFlight);
      e.messages++;
      sealed.requests++;
      return encodeSealedEnvelope(sid, e.epoch, seq, ct);
    },

    openRequest(envelope) {
      live();
      const parts = decodeSealedEnvelope(envelope);
      if (!parts.ok) return malformed(parts.error);
      const { epoch, seq, ciphertext } = parts.value;
      const where: OpenFailure = { reason: 'decrypt-failed', channel: 'requests', epoch, seq };
      if (parts.value.sid !== sid) return fail('decrypt-failed', 'requests', epoch, seq);
      const e = ring.find(epoch) ?? fail('unknown-epoch', 'requests', epoch, seq);
      const key = lookup(e.recv.requests, 'requests', epoch, seq);
      const plaintext = open(key, MESSAGE_NONCE, ciphertext, e.aad.recvRequests.at(seq), where);
      const responseKey = e.recv.requests.accept(seq);
      confirm(e);
      e.messages++;
      opened.requests++;
      const inner = decodeInnerRequest(plaintext);
      if (!inner.ok) {
        wipe(responseKey);
        return malformed(inner.error);
      }
      remember(e.owed, seq, responseKey, maxInFlight);
      return { inner: inner.value, epoch, seq };
    },

    sealResponse(request, inner) {
      live();
      const plaintext = encodeInnerResponse(inner);
      const e = ring.find(request.epoch);
      const key = e?.owed.get(request.seq);
      if (e === undefined || key === undefined) {
        throw new AppError('ERR_INVALID_ARGUMENT', 'no opened request awaits this response');
      }
      e.owed.delete(request.seq);
      let ct: Buffer;
      try {
        ct = gcmSeal(key, RESPONSE_NONCE, plaintext, e.aad.sendResponses.at(request.seq));
      } finally {
        wipe(key);
      }
      e.messages++;
      sealed.responses++;
      return encodeSealedEnvelope(sid, e.epoch, request.seq, ct);
    },

    openResponse(request, envelope) {
      live();
      const parts = decodeSealedEnvelope(envelope);
      if (!parts.ok) return malformed(parts.error);
      const { epoch, seq, ciphertext } = parts.value;
      const where: OpenFailure = { reason: 'decrypt-failed', channel: 'responses', epoch, seq };
      if (parts.value.sid !== sid || epoch !== request.epoch || seq !== request.seq) {
        return fail('decrypt-failed', 'responses', epoch, seq);
      }
      const e = ring.find(epoch) ?? fail('unknown-epoch', 'responses', epoch, seq);
      const key = e.pending.get(seq) ?? fail('replayed', 'responses', epoch, seq);
      const plaintext = open(key, RESPONSE_NONCE, ciphertext, e.aad.recvResponses.at(seq), where);
      e.pending.delete(seq);
      wipe(key);
      confirm(e); // the peer answered under e, so it holds e: after our re-key, it has moved on
      e.messages++;
      opened.responses++;
      const inner = decodeInnerResponse(plaintext);
      return inner.ok ? inner.value : malformed(inner.error);
    },

    cancelResponse(request) {
      const e = ring.find(request.epoch);
      const key = e?.pending.get(request.seq);
      if (e === undefined || key === undefined) return;
      wipe(key);
      e.pending.delete(request.seq);
    },

    sealPush(inner) {
      const e = live();
      const plaintext = encodeInnerPush(inner);
      const { seq, key } = sending(e).push.next();
      let ct: Buffer;
      try {
        ct = gcmSeal(key, MESSAGE_NONCE, plaintext, e.aad.sendPush.at(seq));
      } finally {
        wipe(key);
      }
      e.messages++;
      sealed.push++;
      return encodePushFrame(sidHash, e.epoch, seq, ct);
    },

    openPush(frame) {
      live();
      const parts = decodePushFrame(frame);
      if (!parts.ok) return malformed(parts.error);
      const { epoch, seq, ciphertext } = parts.value;
      const where: OpenFailure = { reason: 'decrypt-failed', channel: 'push', epoch, seq };
      if (!parts.value.sidHash.equals(sidHash)) return fail('decrypt-failed', 'push', epoch, seq);
      const e = ring.find(epoch) ?? fail('unknown-epoch', 'push', epoch, seq);
      const key = lookup(e.recv.push, 'push', epoch, seq);
      const plaintext = open(key, MESSAGE_NONCE, ciphertext, e.aad.recvPush.at(seq), where);
      wipe(e.recv.push.accept(seq));
      confirm(e);
      e.messages++;
      opened.push++;
      const inner = decodeInnerPush(plaintext);
      return inner.ok ? inner.value : malformed(inner.error);
    },

    rekey,

    retireExpired() {
      if (!ring.isDestroyed) live();
    },

    stats() {
      const held = ring.held();
      const sum = (f: (e: EpochKeys) => number) => held.reduce((n, e) => n + f(e), 0);
      const { epoch, keyId } = ring.last();
      return {
        epoch,
        keyId,
        epochMessages: ring.isDestroyed ? 0 : live().messages,
        heldEpochs: held.map((e) => e.epoch),
        storedKeys: sum(storedKeyCount),
        pendingResponses: sum((e) => e.pending.size),
        owedResponses: sum((e) => e.owed.size),
        sealed: { ...sealed },
        opened: { ...opened },
        failures: { ...failures },
        malformed: malformedCount,
        rekey: ring.isDestroyed ? 'idle' : rekey.state,
      };
    },

    destroy() {
      ring.destroy();
      rekey.reset();
    },
  };
}
