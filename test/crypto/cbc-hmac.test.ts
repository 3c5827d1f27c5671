import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { _rawAesCbc, createCbcHmacAead } from '../../src/crypto/cbc-hmac.js';
import { hkdfSha256, Labels } from '../../src/crypto/hkdf.js';

const key = randomBytes(32);
const encKey = hkdfSha256(key, Buffer.alloc(0), Labels.cbcHmacEnc, 32);
const macKey = hkdfSha256(key, Buffer.alloc(0), Labels.cbcHmacMac, 32);
const aad = Buffer.from('room r1 / epoch 3');

/** Build a sealed message by hand, following the documented layout, with a valid MAC. */
function forge(iv: Buffer, ciphertext: Buffer, forAad: Buffer): Buffer {
  const lengthPrefix = Buffer.alloc(8);
  lengthPrefix.writeBigUInt64BE(BigInt(forAad.length));
  const mac = createHmac('sha256', macKey)
    .update(Buffer.of(0x02))
    .update(lengthPrefix)
    .update(forAad)
    .update(iv)
    .update(ciphertext)
    .digest();
  return Buffer.concat([Buffer.of(0x02), iv, ciphertext, mac]);
}

function failureOf(fn: () => unknown): { code?: string; message?: string } {
  try {
    fn();
    return {};
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { code: e.code, message: e.message };
  }
}

describe('createCbcHmacAead', () => {
  const aead = createCbcHmacAead(key);

  it('follows the documented layout: 0x02, IV, CBC ciphertext, HMAC over version, aad length, aad, IV, ciphertext', () => {
    const plaintext = Buffer.from('sixteen byte msg');
    const sealed = aead.seal(plaintext, aad);
    expect(sealed[0]).toBe(0x02);
    expect(sealed.length).toBe(1 + 16 + 32 + 32);
    const iv = sealed.subarray(1, 17);
    const ciphertext = sealed.subarray(17, sealed.length - 32);
    expect(_rawAesCbc.encrypt(encKey, iv, plaintext).equals(ciphertext)).toBe(true);
    expect(forge(Buffer.from(iv), Buffer.from(ciphertext), aad).equals(sealed)).toBe(true);
  });

  it('derives separate encryption and MAC keys, neither equal to the input key', () => {
    expect(encKey.equals(macKey)).toBe(false);
    expect(encKey.equals(key) || macKey.equals(key)).toBe(false);
  });

  it('draws a fresh IV for every message', () => {
    const ivs = new Set<string>();
    for (let i = 0; i < 2000; i++)
      ivs.add(aead.seal(Buffer.alloc(1), aad).subarray(1, 17).toString('hex'));
    expect(ivs.size).toBe(2000);
  });

  it('gives bad padding under a valid MAC the same error as a bad MAC', () => {
    const iv = randomBytes(16);
    // One block encrypted without padding: its last byte is not valid PKCS#7 padding.
    const cipher = createCipheriv('aes-256-cbc', encKey, iv).setAutoPadding(false);
    const badPadding = Buffer.concat([cipher.update(Buffer.alloc(16, 0x41)), cipher.final()]);
    const withValidMac = forge(iv, badPadding, aad);
    const badMac = Buffer.from(withValidMac);
    badMac[badMac.length - 1]! ^= 1;
    const paddingFailure = failureOf(() => aead.open(withValidMac, aad));
    const macFailure = failureOf(() => aead.open(badMac, aad));
    expect(paddingFailure).toEqual({ code: 'ERR_DECRYPT_FAILED', message: 'decryption failed' });
    expect(macFailure).toEqual(paddingFailure);
  });

  it('rejects ciphertext that is not a whole number of blocks before checking anything else', () => {
    const sealed = aead.seal(Buffer.from('hello'), aad);
    const ragged = Buffer.concat([sealed.subarray(0, 20), sealed.subarray(21)]);
    expect(failureOf(() => aead.open(ragged, aad)).code).toBe('ERR_DECRYPT_FAILED');
  });

  it('binds the aad length, so moving bytes between aad and ciphertext fails', () => {
    const sealed = aead.seal(Buffer.from('payload'), Buffer.alloc(0));
    expect(failureOf(() => aead.open(sealed, Buffer.alloc(0))).code).toBeUndefined();
    expect(failureOf(() => aead.open(sealed, Buffer.of(0x02))).code).toBe('ERR_DECRYPT_FAILED');
  });
});
