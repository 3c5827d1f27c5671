import { describe, expect, it } from 'vitest';
import { hmacSha256, hmacSha256Verify, sha256 } from '../../src/crypto/hash.js';
import { hkdfSha256, Labels } from '../../src/crypto/hkdf.js';
import { thrownCode } from './wycheproof.js';

const hex = (s: string) => Buffer.from(s, 'hex');

describe('sha256', () => {
  it('hashes one buffer and a list of parts to the same digest as their concatenation', () => {
    expect(sha256(Buffer.from('abc')).toString('hex')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(sha256([Buffer.from('a'), Buffer.from('bc')]).equals(sha256(Buffer.from('abc')))).toBe(
      true,
    );
  });
});

describe('hmacSha256', () => {
  // RFC 4231 test case 2.
  const key = Buffer.from('Jefe');
  const data = Buffer.from('what do ya want for nothing?');
  const tag = hex('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');

  it('matches RFC 4231 when given one buffer or parts', () => {
    expect(hmacSha256(key, data).equals(tag)).toBe(true);
    expect(hmacSha256(key, [data.subarray(0, 4), data.subarray(4)]).equals(tag)).toBe(true);
  });

  it('verifies only the full, unmodified tag', () => {
    expect(hmacSha256Verify(key, data, tag)).toBe(true);
    const flipped = Buffer.from(tag);
    flipped[31]! ^= 1;
    expect(hmacSha256Verify(key, data, flipped)).toBe(false);
    expect(hmacSha256Verify(key, data, tag.subarray(0, 16))).toBe(false);
    expect(hmacSha256Verify(key, data, Buffer.alloc(0))).toBe(false);
  });
});

describe('hkdfSha256', () => {
  // RFC 5869 test case 1.
  const ikm = hex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b');
  const salt = hex('000102030405060708090a0b0c');
  const info = hex('f0f1f2f3f4f5f6f7f8f9');

  it('matches RFC 5869 test case 1', () => {
    expect(hkdfSha256(ikm, salt, info, 42).toString('hex')).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  it('refuses an empty info label', () => {
    expect(thrownCode(() => hkdfSha256(ikm, salt, '', 32))).toBe('ERR_CRYPTO_INPUT');
    expect(thrownCode(() => hkdfSha256(ikm, salt, Buffer.alloc(0), 32))).toBe('ERR_CRYPTO_INPUT');
  });

  it('refuses output lengths outside 1..8160 and info over 1024 bytes', () => {
    for (const length of [0, -1, 1.5, 8161]) {
      expect(thrownCode(() => hkdfSha256(ikm, salt, Labels.handshake, length))).toBe(
        'ERR_CRYPTO_INPUT',
      );
    }
    expect(hkdfSha256(ikm, salt, Labels.handshake, 8160).length).toBe(8160);
    expect(thrownCode(() => hkdfSha256(ikm, salt, Buffer.alloc(1025, 1), 32))).toBe(
      'ERR_CRYPTO_INPUT',
    );
  });

  it('derives different keys when the labels differ', () => {
    const outputs = Object.values(Labels).map((label) =>
      hkdfSha256(ikm, salt, label, 32).toString('hex'),
    );
    expect(new Set(outputs).size).toBe(outputs.length);
  });
});

describe('Labels', () => {
  it('are distinct, non-empty and versioned', () => {
    const values = Object.values(Labels);
    expect(new Set(values).size).toBe(values.length);
    for (const label of values) expect(label).toMatch(/^conclave\/v1 \S/);
  });
});
