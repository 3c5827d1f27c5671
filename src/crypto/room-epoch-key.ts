/**
 * Room epoch keys (protocol §5.2): fresh epoch keys and member KEKs from the CSPRNG, and an epoch
 * key's wrapping to one member under the pair's KEK, bound to room, epoch and member by the AAD.
 * Stateless, over `node:crypto` only; the caller keeps the keys and never logs them.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import { checkAeadKey } from './aead-types.js';
import { fillRandomNonce, gcmOpen, GCM_NONCE_LENGTH, GCM_TAG_LENGTH } from './aead.js';
import { encodeFields } from './bytes.js';
import { Labels } from './hkdf.js';

export const ROOM_KEY_LENGTH = 32;

/** A fresh 256-bit epoch key from the CSPRNG. */
export function generateRoomKey(): Buffer {
  return randomBytes(ROOM_KEY_LENGTH);
}

/** A fresh key-encryption key shared by the host and one member (delivered inside the session). */
export function generateMemberKek(): Buffer {
  return randomBytes(ROOM_KEY_LENGTH);
}

function wrapAad(roomId: string, epoch: number, memberId: string): Buffer {
  return encodeFields(Labels.roomKeyWrap, [roomId, epoch, memberId]);
}

/**
 * Seal `epochKey` to one member under the pair's key-encryption key, bound to room, epoch and
 * member: a wrapped key moved to another member, room or epoch does not open. Format:
 * `nonce(12, random) ‖ ciphertext(32) ‖ tag(16)` (a KEK wraps one key per epoch: random nonces
 * are far from any collision bound).
 *
 * @example
 * const wrapped = wrapEpochKey(kek, roomId, 3, memberId, epochKey);
 * const back = unwrapEpochKey(kek, roomId, 3, memberId, wrapped);
 */
export function wrapEpochKey(
  kek: Uint8Array,
  roomId: string,
  epoch: number,
  memberId: string,
  epochKey: Uint8Array,
): Buffer {
  return createEpochKeyWrapper(roomId, epoch, epochKey)(kek, memberId);
}

const WRAP_TAG = { authTagLength: GCM_TAG_LENGTH } as const;

/** Wraps one epoch key to one member: `wrapEpochKey` with the room, epoch and key bound. */
export type EpochKeyWrapper = (kek: Uint8Array, memberId: string) => Buffer;

/**
 * `wrapEpochKey` for one epoch key and many members (a rotation): the AAD up to the member id is
 * encoded once, and the output is laid out in one buffer. The result is exactly what
 * `wrapEpochKey` makes. The wrapper holds `epochKey` (not a copy): wipe it after the last wrap.
 *
 * @example
 * const wrapTo = createEpochKeyWrapper(roomId, epoch, epochKey);
 * const wrapped = members.map((m) => wrapTo(kekOf(m), m));
 */
export function createEpochKeyWrapper(
  roomId: string,
  epoch: number,
  epochKey: Uint8Array,
): EpochKeyWrapper {
  if (epochKey.byteLength !== ROOM_KEY_LENGTH)
    throw new AppError('ERR_CRYPTO_INPUT', 'epoch key must be 32 bytes');
  // encodeFields(label, [roomId, epoch, memberId]) = prefix ‖ tag ‖ u32 length ‖ memberId: the
  // prefix comes from encoding an empty last string and dropping its 5-byte (empty) field.
  const withEmpty = wrapAad(roomId, epoch, '');
  const prefixLength = withEmpty.length - 4;
  // One scratch AAD, rewritten per member (`setAAD` copies it into the cipher at once).
  let aad = Buffer.alloc(prefixLength + 4 + 64);
  withEmpty.copy(aad, 0, 0, prefixLength);
  return (kek, memberId) => {
    checkAeadKey(kek);
    if (!(memberId as string & { isWellFormed(): boolean }).isWellFormed())
      throw new AppError('ERR_INVALID_ARGUMENT', 'member id is not well-formed UTF-16');
    const idLength = Buffer.byteLength(memberId, 'utf8');
    if (aad.length < prefixLength + 4 + idLength) {
      const bigger = Buffer.alloc(prefixLength + 4 + idLength);
      aad.copy(bigger, 0, 0, prefixLength);
      aad = bigger;
    }
    aad.writeUInt32BE(idLength, prefixLength);
    aad.write(memberId, prefixLength + 4, 'utf8');
    const out = Buffer.allocUnsafe(GCM_NONCE_LENGTH + ROOM_KEY_LENGTH + GCM_TAG_LENGTH);
    fillRandomNonce(out, 0);
    const cipher = createCipheriv('aes-256-gcm', kek, out.subarray(0, GCM_NONCE_LENGTH), WRAP_TAG);
    cipher.setAAD(aad.subarray(0, prefixLength + 4 + idLength));
    let at = GCM_NONCE_LENGTH + cipher.update(epochKey).copy(out, GCM_NONCE_LENGTH);
    at += cipher.final().copy(out, at);
    cipher.getAuthTag().copy(out, at);
    return out;
  };
}

/** Open a wrapped epoch key; `ERR_DECRYPT_FAILED` when it was not made for this member/room/epoch. */
export function unwrapEpochKey(
  kek: Uint8Array,
  roomId: string,
  epoch: number,
  memberId: string,
  wrapped: Uint8Array,
): Buffer {
  if (wrapped.byteLength !== GCM_NONCE_LENGTH + ROOM_KEY_LENGTH + 16)
    throw new AppError('ERR_DECRYPT_FAILED', 'decrypt failed');
  const key = gcmOpen(
    kek,
    wrapped.subarray(0, GCM_NONCE_LENGTH),
    wrapped.subarray(GCM_NONCE_LENGTH),
    wrapAad(roomId, epoch, memberId),
  );
  return key;
}
