/**
 * A Merkle tree hash over SHA-256 as RFC 9162 §2.1 defines it (leaf hashes are the caller's,
 * already domain-separated; interior nodes are `SHA-256(0x01 ‖ left ‖ right)`), with inclusion
 * proofs built for every leaf at once and checked by the RFC's §2.1.3.2 algorithm. One signature
 * over the root then vouches for each leaf through its path (protocol §5.3, batched signatures).
 */
import { createHash } from 'node:crypto';
import { AppError } from '../errors.js';

export const MERKLE_HASH_LENGTH = 32;
const NODE_PREFIX = Buffer.from([0x01]);

function node(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** The largest power of two strictly below `n` (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The root over `leaves` (each 32 bytes) and, for each leaf, its inclusion path bottom-up.
 *
 * @example
 * const { root, paths } = merkleTree(leafHashes);
 * merkleRootFromPath(leafHashes[2], 2, leafHashes.length, paths[2]).equals(root); // true
 */
export function merkleTree(leaves: readonly Uint8Array[]): { root: Buffer; paths: Buffer[][] } {
  if (leaves.length === 0) throw new AppError('ERR_CRYPTO_INPUT', 'merkle: no leaves');
  for (const l of leaves)
    if (l.byteLength !== MERKLE_HASH_LENGTH)
      throw new AppError('ERR_CRYPTO_INPUT', 'merkle: leaves are 32-byte hashes');
  const paths: Buffer[][] = leaves.map(() => []);
  const build = (lo: number, hi: number): Buffer => {
    if (hi - lo === 1) return Buffer.from(leaves[lo] as Uint8Array);
    const mid = lo + split(hi - lo);
    const left = build(lo, mid);
    const right = build(mid, hi);
    for (let i = lo; i < mid; i++) (paths[i] as Buffer[]).push(right);
    for (let i = mid; i < hi; i++) (paths[i] as Buffer[]).push(left);
    return node(left, right);
  };
  return { root: build(0, leaves.length), paths };
}

/**
 * The root that `leaf` at `index` of a tree of `size` leaves proves through `path`, or undefined
 * when the path cannot belong to such a tree (wrong length for that position). Never throws.
 *
 * @example
 * const root = merkleRootFromPath(leaf, 5, 8, path);
 * const isIn = root !== undefined && root.equals(signedRoot);
 */
export function merkleRootFromPath(
  leaf: Uint8Array,
  index: number,
  size: number,
  path: readonly Uint8Array[],
): Buffer | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size)) return undefined;
  if (index < 0 || index >= size || leaf.byteLength !== MERKLE_HASH_LENGTH) return undefined;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of path) {
    if (sn === 0 || p.byteLength !== MERKLE_HASH_LENGTH) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = node(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}
