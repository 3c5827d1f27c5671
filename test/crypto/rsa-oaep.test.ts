import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateRsaOaepKeyPair, rsaUnwrapKey, rsaWrapKey } from '../../src/crypto/rsa-oaep.js';
import { thrownCode } from './wycheproof.js';

// One RSA-3072 keygen for the file.
let pair: { privateKey: KeyObject; publicKey: KeyObject };
beforeAll(async () => {
  pair = await generateRsaOaepKeyPair();
}, 60_000);

describe('rsaWrapKey / rsaUnwrapKey', () => {
  const secret = randomBytes(32);
  const label = Buffer.from('transcript-hash');

  it('round-trips a 32-byte secret with the default label and with a given one', () => {
    expect(pair.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
    expect(rsaUnwrapKey(pair.privateKey, rsaWrapKey(pair.publicKey, secret)).equals(secret)).toBe(
      true,
    );
    const wrapped = rsaWrapKey(pair.publicKey, secret, label);
    expect(wrapped.length).toBe(384);
    expect(rsaUnwrapKey(pair.privateKey, wrapped, label).equals(secret)).toBe(true);
  });

  it('wraps the same secret differently each time', () => {
    expect(rsaWrapKey(pair.publicKey, secret).equals(rsaWrapKey(pair.publicKey, secret))).toBe(
      false,
    );
  });

  it('fails with ERR_DECRYPT_FAILED when the label, ciphertext or length is wrong', () => {
    const wrapped = rsaWrapKey(pair.publicKey, secret, label);
    const flipped = Buffer.from(wrapped);
    flipped[100]! ^= 1;
    const attempts = [
      () => rsaUnwrapKey(pair.privateKey, wrapped, Buffer.from('other')),
      () => rsaUnwrapKey(pair.privateKey, wrapped),
      () => rsaUnwrapKey(pair.privateKey, flipped, label),
      () => rsaUnwrapKey(pair.privateKey, wrapped.subarray(1), label),
      () => rsaUnwrapKey(pair.privateKey, Buffer.alloc(384), label),
      () => rsaUnwrapKey(pair.privateKey, Buffer.alloc(0), label),
    ];
    expect(attempts.map(thrownCode)).toEqual(attempts.map(() => 'ERR_DECRYPT_FAILED'));
  });

  it('refuses to wrap anything but 32 bytes', () => {
    expect(thrownCode(() => rsaWrapKey(pair.publicKey, randomBytes(16)))).toBe('ERR_CRYPTO_INPUT');
    expect(thrownCode(() => rsaWrapKey(pair.publicKey, randomBytes(64)))).toBe('ERR_CRYPTO_INPUT');
  });

  it('refuses small RSA keys and RSA-PSS (signing-only) keys', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(thrownCode(() => rsaWrapKey(small.publicKey, secret))).toBe('ERR_WEAK_KEY');
    expect(thrownCode(() => rsaUnwrapKey(small.privateKey, Buffer.alloc(256)))).toBe(
      'ERR_WEAK_KEY',
    );
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
    expect(thrownCode(() => rsaWrapKey(pss.publicKey, secret))).toBe('ERR_CRYPTO_INPUT');
    const ed = generateKeyPairSync('ed25519');
    expect(thrownCode(() => rsaWrapKey(ed.publicKey, secret))).toBe('ERR_CRYPTO_INPUT');
  });
});
