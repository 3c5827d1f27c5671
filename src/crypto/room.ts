/**
 * Room cryptography (protocol §5): epoch keys, their wrapping to one member, message sealing by the
 * sending member, message signatures, room password hashes and invite tokens. Stateless, over
 * `node:crypto` only; the caller keeps the keys (keystore or memory) and never logs them.
 *
 * Message format: the sender derives its own key from the epoch key
 * (`HKDF(epochKey, salt = fields(roomId, epoch, sender), Labels.roomMessage)`), seals the plaintext
 * with the room's suite and AAD binding room, epoch, sender, message id, time and suite, and signs
 * those fields plus the ciphertext with its identity key. A relay (the host) can check the
 * signature but cannot read or forge; a member cannot post as another (the signature is the
 * sender's, and the sender's key is bound to its peer id by the fingerprint).
 */
import { createCipheriv, randomBytes, scrypt, type KeyObject } from 'node:crypto';
import { AppError } from '../errors.js';
import { checkAeadKey, type AeadSuite } from './aead-types.js';
import { createAead, fillRandomNonce, gcmOpen, GCM_NONCE_LENGTH, GCM_TAG_LENGTH } from './aead.js';
import { constantTimeEqual, encodeFields, fromBase64Url, toBase64Url } from './bytes.js';
import { sha256 } from './hash.js';
import { MERKLE_HASH_LENGTH, merkleRootFromPath, merkleTree } from './merkle.js';
import { hkdfSha256, Labels } from './hkdf.js';
import { sign, SignatureDomains, verify } from './signature.js';
import type { Aead } from './aead-types.js';

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

/** The public facts of one message, all bound by AAD and signature. */
export interface MessageHeader {
  readonly roomId: string;
  readonly epoch: number;
  readonly sender: string;
  readonly id: string;
  readonly sentAt: string;
  readonly suite: AeadSuite;
}

function headerFields(h: MessageHeader): Array<string | number> {
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

// ---- batched signatures ----

/** Most messages one signature covers (each carries a path of ⌈log₂ n⌉ hashes: 5 at 32). */
export const MAX_SIGN_BATCH = 32;

/** A message's place in its sender's signed batch: leaf `i` of `n`, and its inclusion path. */
export interface BatchProof {
  readonly i: number;
  readonly n: number;
  /** The path's 32-byte hashes, bottom-up, concatenated, base64url. */
  readonly path: string;
}

const LEAF_PREFIX = Buffer.from([0x00]);

/** A message as a Merkle leaf: `SHA-256(0x00 ‖ fields(roomMessageLeaf, [header…, ct]))`. */
export function messageLeaf(h: MessageHeader, ciphertext: Uint8Array): Buffer {
  return sha256([
    LEAF_PREFIX,
    encodeFields(Labels.roomMessageLeaf, [...headerFields(h), ciphertext]),
  ]);
}

const batchFields = (h: MessageHeader, n: number, root: Uint8Array) =>
  [h.roomId, h.epoch, h.sender, n, root] as const;

/**
 * Sign several messages of one sender, room and epoch with one signature: over the Merkle root of
 * their leaves when there are two or more (each gets its `BatchProof`), or as `signMessage` does
 * when there is one (no proof). A receiver checks each message on its own (`verifyBatchedMessage`);
 * nobody but the sender can make a root that vouches for a message.
 *
 * @example
 * const [a, b] = signMessages(identity.privateKey, [{ header: h1, ct: c1 }, { header: h2, ct: c2 }]);
 */
export function signMessages(
  privateKey: KeyObject,
  items: ReadonlyArray<{ readonly header: MessageHeader; readonly ct: Uint8Array }>,
): Array<{ sig: Buffer; batch?: BatchProof }> {
  const [first] = items;
  if (!first) return [];
  if (items.length === 1) return [{ sig: signMessage(privateKey, first.header, first.ct) }];
  if (items.length > MAX_SIGN_BATCH)
    throw new AppError('ERR_INVALID_ARGUMENT', `at most ${MAX_SIGN_BATCH} messages per signature`);
  for (const { header } of items)
    if (
      header.roomId !== first.header.roomId ||
      header.epoch !== first.header.epoch ||
      header.sender !== first.header.sender
    )
      throw new AppError('ERR_INVALID_ARGUMENT', 'a signed batch is one sender, room and epoch');
  const { root, paths } = merkleTree(items.map((x) => messageLeaf(x.header, x.ct)));
  const sig = sign(privateKey, SignatureDomains.roomMessages, [
    ...batchFields(first.header, items.length, root),
  ]);
  return paths.map((path, i) => ({
    sig,
    batch: { i, n: items.length, path: Buffer.concat(path).toString('base64url') },
  }));
}

/** The root a batched message proves (its leaf through its path), or undefined when malformed. */
function batchRootOf(
  h: MessageHeader,
  ciphertext: Uint8Array,
  batch: BatchProof,
): Buffer | undefined {
  if (!Number.isSafeInteger(batch.n) || batch.n < 2 || batch.n > MAX_SIGN_BATCH) return undefined;
  const bytes = Buffer.from(batch.path, 'base64url');
  if (bytes.length % MERKLE_HASH_LENGTH !== 0) return undefined;
  const path: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += MERKLE_HASH_LENGTH)
    path.push(bytes.subarray(at, at + MERKLE_HASH_LENGTH));
  return merkleRootFromPath(messageLeaf(h, ciphertext), batch.i, batch.n, path);
}

/** Whether `signature` is the sender's over a batch root of `n` messages. Never throws. */
function verifyBatchRoot(
  publicKey: KeyObject,
  h: MessageHeader,
  n: number,
  root: Uint8Array,
  signature: Uint8Array,
): boolean {
  return verify(publicKey, SignatureDomains.roomMessages, [...batchFields(h, n, root)], signature);
}

/** Batch roots whose signature already verified, by everything the signature covers. */
export interface VerifiedRoots {
  has(id: string): boolean;
  add(id: string): void;
}

/**
 * Check a message's signature, batched or not. Never throws. With `verified`, a batch root's
 * signature is checked once: later messages of the batch only recompute their leaf's path to it
 * (the cache is keyed by room, sender, epoch, size, root and the signature bytes).
 *
 * @example
 * const ok = verifyBatchedMessage(pk, header, ct, sig, env.batch, verifiedRoots);
 */
export function verifyBatchedMessage(
  publicKey: KeyObject,
  h: MessageHeader,
  ciphertext: Uint8Array,
  signature: Uint8Array,
  batch: BatchProof | undefined,
  verified?: VerifiedRoots,
): boolean {
  if (!batch) return verifyMessage(publicKey, h, ciphertext, signature);
  const root = batchRootOf(h, ciphertext, batch);
  if (root === undefined) return false;
  const id = `${h.roomId}|${h.sender}|${h.epoch}|${batch.n}|${root.toString('base64url')}|${Buffer.from(signature).toString('base64url')}`;
  if (verified?.has(id) === true) return true;
  if (!verifyBatchRoot(publicKey, h, batch.n, root, signature)) return false;
  verified?.add(id);
  return true;
}

// ---- room passwords ----

const SCRYPT = { log2N: 15, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const;

function scryptAsync(password: string, salt: Buffer, log2N: number, r: number, p: number) {
  const N = 2 ** log2N;
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(
      password.normalize('NFC'),
      salt,
      SCRYPT.keyLength,
      { N, r, p, maxmem: 256 * N * r },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

/**
 * A room password as `scrypt$log2N$r$p$salt$hash` (base64url). Kept in the keystore, never in the
 * log.
 *
 * @example
 * const stored = await hashRoomPassword('hunter2');
 * await verifyRoomPassword('hunter2', stored); // true
 */
export async function hashRoomPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltLength);
  const hash = await scryptAsync(password, salt, SCRYPT.log2N, SCRYPT.r, SCRYPT.p);
  return ['scrypt', SCRYPT.log2N, SCRYPT.r, SCRYPT.p, toBase64Url(salt), toBase64Url(hash)].join(
    '$',
  );
}

/** Check a password against `hashRoomPassword`'s output in constant time; false on any mismatch. */
export async function verifyRoomPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [log2N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![log2N, r, p].every((n) => Number.isInteger(n) && n > 0) || log2N > 20 || log2N < 10)
    return false;
  try {
    const salt = fromBase64Url(parts[4] ?? '');
    const expected = fromBase64Url(parts[5] ?? '');
    const actual = await scryptAsync(password, salt, log2N, r, p);
    return actual.length === expected.length && constantTimeEqual(actual, expected);
  } catch {
    return false;
  }
}

// ---- invite tokens ----

/** A fresh single-use invite secret (128 bits) and the hash the host keeps. */
export function newInviteToken(): { token: string; hash: string } {
  const token = toBase64Url(randomBytes(16));
  return { token, hash: inviteTokenHash(token) };
}

/** What the host records for an invite token: its SHA-256, never the token. */
export function inviteTokenHash(token: string): string {
  return sha256(Buffer.from(`conclave/v1 invite\0${token}`, 'utf8')).toString('hex');
}
