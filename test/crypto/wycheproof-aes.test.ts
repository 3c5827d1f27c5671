import { describe, expect, it } from 'vitest';
import { _gcmOpenAnyKeySize, gcmOpen, gcmSeal } from '../../src/crypto/aead.js';
import { _rawAesCbc } from '../../src/crypto/cbc-hmac.js';
import { allTests, hex, loadVectors, thrownCode, type WycheproofTest } from './wycheproof.js';

interface AeadVector extends WycheproofTest {
  readonly key: string;
  readonly iv: string;
  readonly aad: string;
  readonly msg: string;
  readonly ct: string;
  readonly tag: string;
}
interface AeadGroup {
  readonly keySize: number;
  readonly ivSize: number;
  readonly tagSize: number;
  readonly tests: readonly AeadVector[];
}

const gcm = loadVectors<AeadGroup>('aes_gcm_test.json');

describe.skipIf(gcm === undefined)('wycheproof aes_gcm_test.json through gcmOpen/gcmSeal', () => {
  const vectors = () => allTests(gcm!);
  /** Our wrapper takes only 96-bit IVs and 128-bit tags; every other group is refused by policy. */
  const isPolicyRejected = (g: AeadGroup) => g.ivSize !== 96 || g.tagSize !== 128;
  const open = (g: AeadGroup, t: AeadVector) => {
    const sealed = Buffer.concat([hex(t.ct), hex(t.tag)]);
    return g.keySize === 256
      ? gcmOpen(hex(t.key), hex(t.iv), sealed, hex(t.aad))
      : _gcmOpenAnyKeySize(hex(t.key), hex(t.iv), sealed, hex(t.aad));
  };

  it('has the number of tests the file header announces, and some of every kind', () => {
    const all = vectors();
    expect(all.length).toBe(gcm!.numberOfTests);
    expect(all.length).toBe(316);
    expect(
      all.filter(({ group }) => group.keySize === 256 && !isPolicyRejected(group)).length,
    ).toBe(66);
  });

  it('opens every valid 96-bit-IV vector byte-exact', () => {
    const cases = vectors().filter(
      ({ group, test }) => !isPolicyRejected(group) && test.result === 'valid',
    );
    expect(cases.length).toBeGreaterThan(100);
    const mismatches = cases
      .filter(({ group, test }) => !open(group, test).equals(hex(test.msg)))
      .map(({ test }) => test.tcId);
    expect(mismatches).toEqual([]);
  });

  it('seals every valid AES-256 96-bit-IV vector byte-exact', () => {
    const cases = vectors().filter(
      ({ group, test }) =>
        group.keySize === 256 && !isPolicyRejected(group) && test.result === 'valid',
    );
    const mismatches = cases
      .filter(({ test }) => {
        const sealed = gcmSeal(hex(test.key), hex(test.iv), hex(test.msg), hex(test.aad));
        return !sealed.equals(Buffer.concat([hex(test.ct), hex(test.tag)]));
      })
      .map(({ test }) => test.tcId);
    expect(cases.length).toBeGreaterThan(30);
    expect(mismatches).toEqual([]);
  });

  it('rejects every invalid 96-bit-IV vector with ERR_DECRYPT_FAILED', () => {
    const cases = vectors().filter(
      ({ group, test }) => !isPolicyRejected(group) && test.result !== 'valid',
    );
    expect(cases.length).toBeGreaterThan(50);
    expect(cases.every(({ test }) => test.result === 'invalid')).toBe(true);
    const accepted = cases
      .filter(({ group, test }) => thrownCode(() => open(group, test)) !== 'ERR_DECRYPT_FAILED')
      .map(({ test }) => test.tcId);
    expect(accepted).toEqual([]);
  });

  it('rejects every vector with a non-96-bit IV (valid ones too) before Node sees it', () => {
    const cases = vectors().filter(({ group }) => isPolicyRejected(group));
    expect(cases.length).toBe(gcm!.numberOfTests - 67 - 64 - 66);
    const accepted = cases
      .filter(({ group, test }) => thrownCode(() => open(group, test)) !== 'ERR_DECRYPT_FAILED')
      .map(({ test }) => test.tcId);
    expect(accepted).toEqual([]);
    const sealable = cases
      .filter(({ group }) => group.keySize === 256)
      .filter(
        ({ test }) =>
          thrownCode(() => gcmSeal(hex(test.key), hex(test.iv), hex(test.msg), hex(test.aad))) !==
          'ERR_CRYPTO_INPUT',
      )
      .map(({ test }) => test.tcId);
    expect(sealable).toEqual([]);
  });
});

interface CbcVector extends WycheproofTest {
  readonly key: string;
  readonly iv: string;
  readonly msg: string;
  readonly ct: string;
}
interface CbcGroup {
  readonly keySize: number;
  readonly ivSize: number;
  readonly tests: readonly CbcVector[];
}

const cbc = loadVectors<CbcGroup>('aes_cbc_pkcs5_test.json');

/**
 * The raw AES-CBC-PKCS#7 primitive under our CBC-HMAC suite. (In the app CBC never runs without
 * the MAC, which is checked first; these vectors check the block-mode and padding layer itself.)
 */
describe.skipIf(cbc === undefined)('wycheproof aes_cbc_pkcs5_test.json through _rawAesCbc', () => {
  const vectors = () => allTests(cbc!);

  it('has the number of tests the file header announces', () => {
    expect(vectors().length).toBe(cbc!.numberOfTests);
    expect(vectors().length).toBe(216);
    expect(vectors().some(({ test }) => test.result === 'acceptable')).toBe(false);
  });

  it('encrypts and decrypts every valid vector byte-exact', () => {
    const cases = vectors().filter(({ test }) => test.result === 'valid');
    expect(cases.length).toBe(72);
    const mismatches = cases
      .filter(({ test }) => {
        const [key, iv, msg, ct] = [hex(test.key), hex(test.iv), hex(test.msg), hex(test.ct)];
        return (
          !_rawAesCbc.encrypt(key, iv, msg).equals(ct) ||
          !_rawAesCbc.decrypt(key, iv, ct).equals(msg)
        );
      })
      .map(({ test }) => test.tcId);
    expect(mismatches).toEqual([]);
  });

  it('rejects every invalid vector (bad or missing padding)', () => {
    const cases = vectors().filter(({ test }) => test.result === 'invalid');
    expect(cases.length).toBe(144);
    const accepted = cases
      .filter(
        ({ test }) =>
          thrownCode(() => _rawAesCbc.decrypt(hex(test.key), hex(test.iv), hex(test.ct))) ===
          'none',
      )
      .map(({ test }) => test.tcId);
    expect(accepted).toEqual([]);
  });
});
