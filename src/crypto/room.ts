/**
 * Room message cryptography (protocol §5.3): the sender's message key, message sealing and opening
 * by the sending member, and message signatures. Stateless, over `node:crypto` only; the caller
 * keeps the keys (keystore or memory) and never logs them. Epoch keys and their wrapping are in
 * `room-epoch-key.ts`, batched signatures in `room-batch-sign.ts`, passwords and invite tokens in
 * `room-credentials.ts`.
 *
 * Message format: the sender derives its own key from the epoch key
 * (`HKDF(epochKey, salt = fields(roomId, epoch, sender), Labels.roomMessage)`), seals the plaintext
 * with the room's suite and AAD binding room, epoch, sender, message id, time and suite, and signs
 * those fields plus the ciphertext with its identity key. A relay (the host) can check the
 * signature but cannot read or forge; a member cannot post as another (the signature is the
 * sender's, and the sender's key is bound to its peer id by the fingerprint).
 */
import type { KeyObject } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Aead, AeadSuite } from './aead-types.js';
import { createAead } from './aead.js';
import { encodeFields } from './bytes.js';
import { hkdfSha256, Labels } from './hkdf.js';
import { ROOM_KEY_LENGTH } from './room-epoch-key.js';
import { sign, SignatureDomains, verify } from './signature.js';

/** The public facts of one message, all bound by AAD and signature. */
export interface MessageHeader {
  readonly roomId: string;
  readonly epoch: number;
  readonly sender: string;
  readonly id: string;
  readonly sentAt: string;
  readonly suite: AeadSuite;
}

/** A header's fields, in the order the AAD, the signatures and the batch leaves bind them. */
export function headerFields(h: MessageHeader): Array<string | number> {
  return [h.roomId, h.epoch, h.sender, h.id, h.sentAt, h.suite];
}

/** The AAD of a message: every header field, domain-separated. */
export function messageAad(h: MessageHeader): Buffer {
  return encodeFields(Labels.roomMessage, headerFields(h));
}

/** The sender's message key for one epoch (the sender's own key: nonce spaces never meet). */
export function senderMessageKey(
  epochKey: Uint8Array,
  roomId: string,
  epoch: number,
  sender: string,
): Buffer {
  return hkdfSha256(
    epochKey,
    encodeFields(Labels.roomMessage, [roomId, epoch, sender]),
    Labels.roomMessage,
    ROOM_KEY_LENGTH,
  );
}

/**
 * Seals messages for one sender in one epoch; keeps one AEAD instance so nonces never repeat.
 *
 * @example
 * const sealer = createMessageSealer(epochKey, header);
 * const ct = sealer.seal(header, Buffer.from('{"text":"hi"}'));
 */
export interface MessageCipher {
  seal(header: MessageHeader, plaintext: Uint8Array): Buffer;
  open(header: MessageHeader, ciphertext: Uint8Array): Buffer;
  destroy(): void;
}

/** A cipher for messages of `sender` in one epoch (both to seal and to open). */
export function createMessageCipher(
  epochKey: Uint8Array,
  roomId: string,
  epoch: number,
  sender: string,
  suite: AeadSuite,
): MessageCipher {
  const key = senderMessageKey(epochKey, roomId, epoch, sender);
  const aead: Aead = createAead(suite, key);
  key.fill(0);
  const check = (h: MessageHeader): void => {
    if (h.roomId !== roomId || h.epoch !== epoch || h.sender !== sender || h.suite !== suite)
      throw new AppError('ERR_DECRYPT_FAILED', 'message header does not match this key');
  };
  return {
    seal(h, plaintext) {
      check(h);
      return aead.seal(plaintext, messageAad(h));
    },
    open(h, ciphertext) {
      check(h);
      return aead.open(ciphertext, messageAad(h));
    },
    destroy: () => aead.destroy(),
  };
}

/** The sender's signature over the header and ciphertext. */
export function signMessage(
  privateKey: KeyObject,
  h: MessageHeader,
  ciphertext: Uint8Array,
): Buffer {
  return sign(privateKey, SignatureDomains.roomMessage, [...headerFields(h), ciphertext]);
}

/** Whether `signature` is the sender's over this header and ciphertext. Never throws. */
export function verifyMessage(
  publicKey: KeyObject,
  h: MessageHeader,
  ciphertext: Uint8Array,
  signature: Uint8Array,
): boolean {
  return verify(
    publicKey,
    SignatureDomains.roomMessage,
    [...headerFields(h), ciphertext],
    signature,
  );
}
