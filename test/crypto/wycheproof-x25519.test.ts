import { describe, expect, it } from 'vitest';
import { importX25519PrivateKey, x25519SharedSecret } from '../../src/crypto/x25519.js';
import { allTests, hex, loadVectors, thrownCode, type WycheproofTest } from './wycheproof.js';

interface XdhVector extends WycheproofTest {
  readonly public: string;
  readonly private: string;
  readonly shared: string;
}
interface XdhGroup {
  readonly curve: string;
  readonly tests: readonly XdhVector[];
}

const x25519 = loadVectors<XdhGroup>('x25519_test.json');
const isZero = (text: string) => /^(00)+$/.test(text);

/**
 * Policy for `acceptable` vectors: we follow RFC 7748 (any 32 bytes are a public key; the high bit
 * is masked, non-canonical values are reduced), so twist, non-canonical and small-order points are
 * computed as specified; the one thing we refuse is an all-zero shared secret (ERR_WEAK_KEY),
 * which every low-order point produces.
 */
describe.skipIf(x25519 === undefined)(
  'wycheproof x25519_test.json through x25519SharedSecret',
  () => {
    const vectors = () => allTests(x25519!);
    const derive = (t: XdhVector) =>
      x25519SharedSecret(importX25519PrivateKey(hex(t.private)), hex(t.public));

    it('has the number of tests the file header announces', () => {
      expect(vectors().length).toBe(x25519!.numberOfTests);
      expect(vectors().length).toBe(518);
      expect(vectors().every(({ group }) => group.curve === 'curve25519')).toBe(true);
    });

    it('derives every valid shared secret byte-exact', () => {
      const cases = vectors().filter(({ test }) => test.result === 'valid');
      expect(cases.length).toBe(264);
      const mismatches = cases
        .filter(({ test }) => !derive(test).equals(hex(test.shared)))
        .map(({ test }) => test.tcId);
      expect(mismatches).toEqual([]);
    });

    it('refuses every all-zero shared secret with ERR_WEAK_KEY', () => {
      const cases = vectors().filter(({ test }) => isZero(test.shared));
      expect(cases.length).toBe(31);
      expect(cases.every(({ test }) => test.flags.includes('ZeroSharedSecret'))).toBe(true);
      const returned = cases
        .filter(({ test }) => thrownCode(() => derive(test)) !== 'ERR_WEAK_KEY')
        .map(({ test }) => test.tcId);
      expect(returned).toEqual([]);
    });

    it('computes every other acceptable vector as RFC 7748 specifies', () => {
      const cases = vectors().filter(
        ({ test }) => test.result === 'acceptable' && !isZero(test.shared),
      );
      expect(cases.length).toBe(254 - 31);
      const mismatches = cases
        .filter(({ test }) => !derive(test).equals(hex(test.shared)))
        .map(({ test }) => test.tcId);
      expect(mismatches).toEqual([]);
    });

    it('rejects every invalid vector (the file has none today)', () => {
      const cases = vectors().filter(({ test }) => test.result === 'invalid');
      expect(cases.filter(({ test }) => thrownCode(() => derive(test)) === 'none')).toEqual([]);
    });
  },
);
