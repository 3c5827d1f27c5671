/**
 * CSPRNG bytes drawn in blocks. One `randomFillSync` call costs about as much as an AES-GCM seal
 * of a small message, so paths that take a few bytes many times (GCM and CBC nonces, handshake
 * nonces and session ids, the session authentication key) take them from one pool refilled 4 KiB
 * at a time. Every byte comes from the CSPRNG and is handed out once: it is wiped from the pool as
 * it is copied out, so the pool never holds a secret already given away.
 */
import { randomBytes, randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
/** Larger requests go to the CSPRNG directly. */
const MAX_POOLED = 256;
const pool = Buffer.alloc(POOL_SIZE);
let poolAt = POOL_SIZE;

/**
 * Write `length` fresh random bytes at `target[at, at + length)`.
 *
 * @example
 * const sealed = Buffer.allocUnsafe(12 + 32 + 16);
 * fillRandom(sealed, 0, 12); // the nonce
 */
export function fillRandom(target: Uint8Array, at: number, length: number): void {
  if (length > MAX_POOLED) {
    randomFillSync(target, at, length);
    return;
  }
  if (poolAt + length > POOL_SIZE) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const end = poolAt + length;
  target.set(pool.subarray(poolAt, end), at);
  pool.fill(0, poolAt, end);
  poolAt = end;
}

/**
 * `length` fresh random bytes in a Buffer of their own, like `crypto.randomBytes`.
 *
 * @example
 * const nonce = pooledRandomBytes(32);
 */
export function pooledRandomBytes(length: number): Buffer {
  if (length > MAX_POOLED) return randomBytes(length);
  const out = Buffer.allocUnsafe(length);
  fillRandom(out, 0, length);
  return out;
}
