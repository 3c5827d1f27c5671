import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { computeSas, SAS_ENTROPY_BITS } from '../../src/crypto/sas.js';
import { thrownCode } from './wycheproof.js';

describe('computeSas', () => {
  it('gives both sides the same string when the transcript hash is the same', () => {
    const hash = randomBytes(32);
    expect(computeSas(Buffer.from(hash))).toBe(computeSas(hash));
  });

  it('formats 4 groups of 5 decimal digits (about 66 bits)', () => {
    expect(computeSas(randomBytes(32))).toMatch(/^\d{5} \d{5} \d{5} \d{5}$/);
    expect(SAS_ENTROPY_BITS).toBeGreaterThan(66);
    expect(SAS_ENTROPY_BITS).toBeLessThan(67);
  });

  it('matches the frozen vector when given a fixed transcript hash', () => {
    const hash = Buffer.from(
      '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
      'hex',
    );
    expect(computeSas(hash)).toBe('53970 67079 65519 26371');
  });

  it('gives different strings when transcripts differ, even by one bit', () => {
    const hash = randomBytes(32);
    const other = Buffer.from(hash);
    other[31]! ^= 1;
    expect(computeSas(other)).not.toBe(computeSas(hash));
    const seen = new Set(Array.from({ length: 2000 }, () => computeSas(randomBytes(32))));
    expect(seen.size).toBe(2000);
  });

  it('refuses input that is not a 32-byte hash', () => {
    expect(thrownCode(() => computeSas(randomBytes(31)))).toBe('ERR_CRYPTO_INPUT');
    expect(thrownCode(() => computeSas(randomBytes(64)))).toBe('ERR_CRYPTO_INPUT');
  });
});
