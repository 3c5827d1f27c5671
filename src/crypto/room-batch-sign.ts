/**
 * Batched room message signatures (protocol §5.3): one signature over the Merkle root of up to
 * `MAX_SIGN_BATCH` messages of one sender, room and epoch, each message carrying its inclusion
 * path, and the per-message check of a batched or single signature (with a cache of verified
 * roots). A receiver checks each message on its own; only the sender can make a root that vouches
 * for a message.
 */
import type { KeyObject } from 'node:crypto';
import { AppError } from '../errors.js';
import { encodeFields } from './bytes.js';
import { sha256 } from './hash.js';
import { MERKLE_HASH_LENGTH, merkleRootFromPath, merkleTree } from './merkle.js';
import { Labels } from './hkdf.js';
import { headerFields, signMessage, verifyMessage, type MessageHeader } from './room.js';
import { sign, SignatureDomains, verify } from './signature.js';

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
