/**
 * The Merkle tree behind batched message signatures, against a direct transcription of RFC 9162
 * §2.1.1 (MTH) and §2.1.3.1 (PATH), for every size up to 70 and every leaf.
 */
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { merkleRootFromPath, merkleTree } from '../../src/crypto/merkle.js';

const h = (...parts: Uint8Array[]): Buffer => {
  const x = createHash('sha256');
  for (const p of parts) x.update(p);
  return x.digest();
};
const k = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1); // largest power of 2 < n

/** RFC 9162 MTH over leaf hashes (the caller's leaves are already hashed). */
function mth(d: readonly Buffer[]): Buffer {
  if (d.length === 1) return d[0] as Buffer;
  const s = k(d.length);
  return h(Buffer.from([1]), mth(d.slice(0, s)), mth(d.slice(s)));
}

/** RFC 9162 PATH(m, D[n]). */
function path(m: number, d: readonly Buffer[]): Buffer[] {
  if (d.length === 1) return [];
  const s = k(d.length);
  return m < s
    ? [...path(m, d.slice(0, s)), mth(d.slice(s))]
    : [...path(m - s, d.slice(s)), mth(d.slice(0, s))];
}

describe('merkle tree (RFC 9162)', () => {
  it('gives the RFC root and paths for every size up to 70, and every path proves its leaf', () => {
    for (let n = 1; n <= 70; n++) {
      const leaves = Array.from({ length: n }, () => randomBytes(32));
      const t = merkleTree(leaves);
      expect(t.root.equals(mth(leaves)), `root n=${n}`).toBe(true);
      for (let i = 0; i < n; i++) {
        expect(
          Buffer.concat(t.paths[i] ?? []).equals(Buffer.concat(path(i, leaves))),
          `n=${n} i=${i}`,
        ).toBe(true);
        expect(
          merkleRootFromPath(leaves[i] as Buffer, i, n, t.paths[i] ?? [])?.equals(t.root),
        ).toBe(true);
      }
    }
  });

  // A path alone does not always fix the size (the leftmost leaf of 9 and of 10 leaves share one):
  // the batch signature covers `n` with the root.
  it('a path proves nothing for another leaf or index, nor when bent, cut or padded', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 }), fc.nat(), fc.nat(), (n, a, b) => {
        const leaves = Array.from({ length: n }, () => randomBytes(32));
        const t = merkleTree(leaves);
        const i = a % n;
        const j = b % n;
        const p = t.paths[i] ?? [];
        const root = (leaf: Buffer, idx: number, size: number, pp = p) =>
          merkleRootFromPath(leaf, idx, size, pp)?.equals(t.root) === true;
        expect(root(leaves[i] as Buffer, i, n)).toBe(true);
        if (j !== i) {
          expect(root(leaves[j] as Buffer, i, n)).toBe(false);
          expect(root(leaves[i] as Buffer, j, n)).toBe(false);
        }
        expect(root(randomBytes(32), i, n)).toBe(false);
        if (p.length > 0) {
          const bent = p.map((x) => Buffer.from(x));
          (bent[0] as Buffer)[0]! ^= 1;
          expect(root(leaves[i] as Buffer, i, n, bent)).toBe(false);
          expect(root(leaves[i] as Buffer, i, n, p.slice(1))).toBe(false);
          expect(root(leaves[i] as Buffer, i, n, [...p, randomBytes(32)])).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses impossible positions and malformed hashes without throwing', () => {
    const leaf = randomBytes(32);
    expect(merkleRootFromPath(leaf, 0, 0, [])).toBeUndefined();
    expect(merkleRootFromPath(leaf, 3, 3, [])).toBeUndefined();
    expect(merkleRootFromPath(leaf, -1, 3, [])).toBeUndefined();
    expect(merkleRootFromPath(leaf, 0.5, 3, [])).toBeUndefined();
    expect(merkleRootFromPath(randomBytes(31), 0, 1, [])).toBeUndefined();
    expect(merkleRootFromPath(leaf, 0, 2, [randomBytes(16)])).toBeUndefined();
    expect(merkleRootFromPath(leaf, 0, 1, [])?.equals(leaf)).toBe(true);
    expect(() => merkleTree([])).toThrow();
    expect(() => merkleTree([randomBytes(16)])).toThrow();
  });
});
