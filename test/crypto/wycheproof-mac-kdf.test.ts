import { describe, expect, it } from 'vitest';
import { hmacSha256, hmacSha256Verify } from '../../src/crypto/hash.js';
import { _rawHkdfSha256, hkdfSha256 } from '../../src/crypto/hkdf.js';
import { allTests, hex, loadVectors, thrownCode, type WycheproofTest } from './wycheproof.js';

interface HkdfVector extends WycheproofTest {
  readonly ikm: string;
  readonly salt: string;
  readonly info: string;
  readonly size: number;
  readonly okm: string;
}
interface HkdfGroup {
  readonly tests: readonly HkdfVector[];
}

const hkdf = loadVectors<HkdfGroup>('hkdf_sha256_test.json');

/** Policy: `hkdfSha256` requires a non-empty info label; the raw function covers the empty-info vectors. */
describe.skipIf(hkdf === undefined)('wycheproof hkdf_sha256_test.json through hkdfSha256', () => {
  const vectors = () => allTests(hkdf!);
  const raw = (t: HkdfVector) => _rawHkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), t.size);

  it('has the number of tests the file header announces', () => {
    expect(vectors().length).toBe(hkdf!.numberOfTests);
    expect(vectors().length).toBe(86);
  });

  it('derives every valid vector byte-exact', () => {
    const cases = vectors().filter(({ test }) => test.result === 'valid');
    expect(cases.length).toBe(83);
    expect(
      cases.filter(({ test }) => !raw(test).equals(hex(test.okm))).map(({ test }) => test.tcId),
    ).toEqual([]);
  });

  it('gives the same bytes through hkdfSha256 when info is non-empty, and refuses empty info', () => {
    const cases = vectors().filter(({ test }) => test.result === 'valid');
    const withInfo = cases.filter(({ test }) => test.info.length > 0);
    const withoutInfo = cases.filter(({ test }) => test.info.length === 0);
    expect(withInfo.length).toBeGreaterThan(40);
    expect(withoutInfo.length).toBeGreaterThan(10);
    const mismatches = withInfo.filter(
      ({ test }) =>
        !hkdfSha256(hex(test.ikm), hex(test.salt), hex(test.info), test.size).equals(hex(test.okm)),
    );
    expect(mismatches.map(({ test }) => test.tcId)).toEqual([]);
    const allowed = withoutInfo.filter(
      ({ test }) =>
        thrownCode(() => hkdfSha256(hex(test.ikm), hex(test.salt), hex(test.info), test.size)) !==
        'ERR_CRYPTO_INPUT',
    );
    expect(allowed.map(({ test }) => test.tcId)).toEqual([]);
  });

  it('rejects every invalid vector (output longer than 255 blocks)', () => {
    const cases = vectors().filter(({ test }) => test.result !== 'valid');
    expect(cases.length).toBe(3);
    expect(cases.filter(({ test }) => thrownCode(() => raw(test)) !== 'ERR_CRYPTO_INPUT')).toEqual(
      [],
    );
  });
});

interface MacVector extends WycheproofTest {
  readonly key: string;
  readonly msg: string;
  readonly tag: string;
}
interface MacGroup {
  readonly keySize: number;
  readonly tagSize: number;
  readonly tests: readonly MacVector[];
}

const hmac = loadVectors<MacGroup>('hmac_sha256_test.json');

/**
 * Policy: conclave only sends and accepts full 32-byte tags. The truncated-tag groups check the
 * primitive on the tag's prefix, and show that `hmacSha256Verify` refuses truncated tags outright.
 */
describe.skipIf(hmac === undefined)('wycheproof hmac_sha256_test.json through hmacSha256', () => {
  const vectors = () => allTests(hmac!);
  const prefixMatches = (g: MacGroup, t: MacVector) =>
    hmacSha256(hex(t.key), hex(t.msg))
      .subarray(0, g.tagSize / 8)
      .equals(hex(t.tag));

  it('has the number of tests the file header announces', () => {
    expect(vectors().length).toBe(hmac!.numberOfTests);
    expect(vectors().length).toBe(174);
  });

  it('matches every valid tag and no invalid one', () => {
    const wrong = vectors().filter(
      ({ group, test }) => prefixMatches(group, test) !== (test.result === 'valid'),
    );
    expect(wrong.map(({ test }) => test.tcId)).toEqual([]);
    expect(vectors().filter(({ test }) => test.result === 'valid').length).toBe(66);
  });

  it('verifies full-length tags in constant time through hmacSha256Verify', () => {
    const cases = vectors().filter(({ group }) => group.tagSize === 256);
    expect(cases.length).toBe(87);
    const wrong = cases.filter(
      ({ test }) =>
        hmacSha256Verify(hex(test.key), hex(test.msg), hex(test.tag)) !== (test.result === 'valid'),
    );
    expect(wrong.map(({ test }) => test.tcId)).toEqual([]);
  });

  it('refuses every truncated tag in hmacSha256Verify, valid or not', () => {
    const cases = vectors().filter(({ group }) => group.tagSize !== 256);
    expect(cases.length).toBe(87);
    const accepted = cases.filter(({ test }) =>
      hmacSha256Verify(hex(test.key), hex(test.msg), hex(test.tag)),
    );
    expect(accepted.map(({ test }) => test.tcId)).toEqual([]);
  });
});
