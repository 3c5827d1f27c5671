import { createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { _rawRsaOaepDecrypt, rsaUnwrapKey } from '../../src/crypto/rsa-oaep.js';
import { allTests, hex, loadVectors, thrownCode, type WycheproofTest } from './wycheproof.js';

interface OaepVector extends WycheproofTest {
  readonly msg: string;
  readonly ct: string;
  readonly label: string;
}
interface OaepGroup {
  readonly keySize: number;
  readonly sha: string;
  readonly mgfSha: string;
  readonly privateKeyPkcs8: string;
  readonly tests: readonly OaepVector[];
}

for (const bits of [2048, 3072] as const) {
  const file = `rsa_oaep_${bits}_sha256_mgf1sha256_test.json`;
  const oaep = loadVectors<OaepGroup>(file);

  describe.skipIf(oaep === undefined)(`wycheproof ${file} through _rawRsaOaepDecrypt`, () => {
    const vectors = () => allTests(oaep!);
    const keyOf = (g: OaepGroup) =>
      createPrivateKey({ key: hex(g.privateKeyPkcs8), format: 'der', type: 'pkcs8' });

    it('has the number of tests the file header announces, with our parameters', () => {
      expect(vectors().length).toBe(oaep!.numberOfTests);
      expect(vectors().length).toBe(37);
      for (const g of oaep!.testGroups)
        expect([g.keySize, g.sha, g.mgfSha]).toEqual([bits, 'SHA-256', 'SHA-256']);
    });

    it('decrypts every valid vector byte-exact (with and without labels)', () => {
      const cases = vectors().filter(({ test }) => test.result === 'valid');
      expect(cases.length).toBe(18);
      const mismatches = cases.filter(
        ({ group, test }) =>
          !_rawRsaOaepDecrypt(keyOf(group), hex(test.ct), hex(test.label)).equals(hex(test.msg)),
      );
      expect(mismatches.map(({ test }) => test.tcId)).toEqual([]);
    });

    it('rejects every invalid vector with ERR_DECRYPT_FAILED', () => {
      const cases = vectors().filter(({ test }) => test.result !== 'valid');
      expect(cases.length).toBe(19);
      expect(cases.every(({ test }) => test.result === 'invalid')).toBe(true);
      const accepted = cases.filter(
        ({ group, test }) =>
          thrownCode(() => _rawRsaOaepDecrypt(keyOf(group), hex(test.ct), hex(test.label))) !==
          'ERR_DECRYPT_FAILED',
      );
      expect(accepted.map(({ test }) => test.tcId)).toEqual([]);
    });

    if (bits === 2048) {
      it('refuses the 2048-bit key in rsaUnwrapKey (policy: RSA >= 3072)', () => {
        const { group, test } = vectors()[0]!;
        expect(thrownCode(() => rsaUnwrapKey(keyOf(group), hex(test.ct), hex(test.label)))).toBe(
          'ERR_WEAK_KEY',
        );
      });
    } else {
      it('makes rsaUnwrapKey accept only 32-byte payloads and reject every invalid vector', () => {
        const outcomes = vectors().map(({ group, test }) => ({
          test,
          code: thrownCode(() => rsaUnwrapKey(keyOf(group), hex(test.ct), hex(test.label))),
        }));
        const wrong = outcomes.filter(({ test, code }) => {
          const shouldOpen = test.result === 'valid' && test.msg.length === 64;
          return shouldOpen ? code !== 'none' : code !== 'ERR_DECRYPT_FAILED';
        });
        expect(outcomes.some(({ code }) => code === 'none')).toBe(true);
        expect(wrong.map(({ test }) => test.tcId)).toEqual([]);
      });
    }
  });
}
