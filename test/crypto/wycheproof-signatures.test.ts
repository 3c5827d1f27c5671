import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { toBase64Url } from '../../src/crypto/bytes.js';
import { importPublicKey } from '../../src/crypto/identity.js';
import { _rawVerify, isAllowedKey } from '../../src/crypto/signature.js';
import { allTests, hex, loadVectors, thrownCode, type WycheproofTest } from './wycheproof.js';

interface SigVector extends WycheproofTest {
  readonly msg: string;
  readonly sig: string;
}
interface SigGroup {
  readonly publicKeyDer: string;
  readonly tests: readonly SigVector[];
}
interface PssGroup extends SigGroup {
  readonly keySize: number;
  readonly sha: string;
  readonly mgfSha: string;
  readonly sLen: number;
}

const ed25519 = loadVectors<SigGroup>('ed25519_test.json');

/** No `acceptable` vectors in these files; valid must verify, invalid must not. */
describe.skipIf(ed25519 === undefined)(
  'wycheproof ed25519_test.json through importPublicKey + _rawVerify',
  () => {
    const vectors = () => allTests(ed25519!);
    const check = (g: SigGroup, t: SigVector) =>
      _rawVerify(
        importPublicKey(toBase64Url(hex(g.publicKeyDer))).publicKey,
        hex(t.msg),
        hex(t.sig),
      );

    it('has the number of tests the file header announces, all valid or invalid', () => {
      expect(vectors().length).toBe(ed25519!.numberOfTests);
      expect(vectors().length).toBe(151);
      expect(vectors().every(({ test }) => test.result !== 'acceptable')).toBe(true);
    });

    it('verifies every valid signature', () => {
      const cases = vectors().filter(({ test }) => test.result === 'valid');
      expect(cases.length).toBe(88);
      expect(
        cases.filter(({ group, test }) => !check(group, test)).map(({ test }) => test.tcId),
      ).toEqual([]);
    });

    it('rejects every invalid signature (malleable, truncated, garbage) without throwing', () => {
      const cases = vectors().filter(({ test }) => test.result === 'invalid');
      expect(cases.length).toBe(63);
      const accepted = cases.filter(
        ({ group, test }) => thrownCode(() => check(group, test)) !== 'none' || check(group, test),
      );
      expect(accepted.map(({ test }) => test.tcId)).toEqual([]);
    });
  },
);

for (const bits of [2048, 3072] as const) {
  const file = `rsa_pss_${bits}_sha256_mgf1_32_test.json`;
  const pss = loadVectors<PssGroup>(file);

  describe.skipIf(pss === undefined)(`wycheproof ${file} through _rawVerify`, () => {
    const vectors = () => allTests(pss!);
    const keyOf = (g: PssGroup) =>
      bits === 3072
        ? importPublicKey(toBase64Url(hex(g.publicKeyDer))).publicKey
        : createPublicKey({ key: hex(g.publicKeyDer), format: 'der', type: 'spki' });

    it('has the number of tests the file header announces, with our parameters', () => {
      expect(vectors().length).toBe(pss!.numberOfTests);
      expect(vectors().length).toBe(108);
      for (const g of pss!.testGroups) {
        expect([g.keySize, g.sha, g.mgfSha, g.sLen]).toEqual([bits, 'SHA-256', 'SHA-256', 32]);
      }
    });

    it('verifies every valid signature', () => {
      const cases = vectors().filter(({ test }) => test.result === 'valid');
      expect(cases.length).toBe(63);
      const rejected = cases.filter(
        ({ group, test }) => !_rawVerify(keyOf(group), hex(test.msg), hex(test.sig)),
      );
      expect(rejected.map(({ test }) => test.tcId)).toEqual([]);
    });

    it('rejects every invalid signature, including the PKCS#1 v1.5 one (WrongPrimitive)', () => {
      const cases = vectors().filter(({ test }) => test.result !== 'valid');
      expect(cases.length).toBe(45);
      expect(cases.every(({ test }) => test.result === 'invalid')).toBe(true);
      const accepted = cases.filter(({ group, test }) =>
        _rawVerify(keyOf(group), hex(test.msg), hex(test.sig)),
      );
      expect(accepted.map(({ test }) => test.tcId)).toEqual([]);
    });

    if (bits === 2048) {
      it('refuses the 2048-bit key in the app-level API (policy: RSA >= 3072)', () => {
        const group = pss!.testGroups[0]!;
        expect(isAllowedKey(keyOf(group))).toBe(false);
        expect(thrownCode(() => importPublicKey(toBase64Url(hex(group.publicKeyDer))))).toBe(
          'ERR_WEAK_KEY',
        );
      });
    }
  });
}
