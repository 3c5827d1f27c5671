import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createAead,
  createGcmSealer,
  GCM_SEALED_OVERHEAD,
  gcmOpen,
  gcmSeal,
} from '../../src/crypto/aead.js';
import { AEAD_SUITES, DEFAULT_MAX_MESSAGES, isAeadSuite } from '../../src/crypto/aead-types.js';
import { thrownCode } from './wycheproof.js';

const key = randomBytes(32);
const aad = Buffer.from('room r1 / epoch 3 / sender s / message m');
const plaintext = Buffer.from('attack at dawn, bring snacks');

const flip = (bytes: Uint8Array, index: number, bit = 0x01): Buffer => {
  const copy = Buffer.from(bytes);
  copy[index]! ^= bit;
  return copy;
};

describe('gcmSeal / gcmOpen', () => {
  const nonce = randomBytes(12);
  const sealed = gcmSeal(key, nonce, plaintext, aad);

  it('round-trips when key, nonce and aad match', () => {
    expect(sealed.length).toBe(plaintext.length + 16);
    expect(gcmOpen(key, nonce, sealed, aad).equals(plaintext)).toBe(true);
  });

  it('rejects tampering of any kind with ERR_DECRYPT_FAILED', () => {
    const attempts: Record<string, () => unknown> = {
      'flipped nonce bit': () => gcmOpen(key, flip(nonce, 0), sealed, aad),
      'flipped ciphertext bit': () => gcmOpen(key, nonce, flip(sealed, 3), aad),
      'flipped tag bit': () => gcmOpen(key, nonce, flip(sealed, sealed.length - 1, 0x80), aad),
      'wrong aad': () => gcmOpen(key, nonce, sealed, Buffer.from('other room')),
      'missing aad': () => gcmOpen(key, nonce, sealed, Buffer.alloc(0)),
      'wrong key': () => gcmOpen(randomBytes(32), nonce, sealed, aad),
      'short nonce': () => gcmOpen(key, nonce.subarray(0, 8), sealed, aad),
      'long nonce': () => gcmOpen(key, Buffer.concat([nonce, Buffer.of(0)]), sealed, aad),
      'empty input': () => gcmOpen(key, nonce, Buffer.alloc(0), aad),
    };
    for (const tagLength of [4, 8, 12, 15]) {
      attempts[`tag truncated to ${tagLength}`] = () =>
        gcmOpen(key, nonce, sealed.subarray(0, plaintext.length + tagLength), aad);
    }
    const codes = Object.fromEntries(
      Object.entries(attempts).map(([name, fn]) => [name, thrownCode(fn)]),
    );
    expect(Object.values(codes).every((code) => code === 'ERR_DECRYPT_FAILED')).toBe(true);
  });

  it('refuses keys other than 32 bytes and seal nonces other than 12 bytes', () => {
    expect(thrownCode(() => gcmSeal(randomBytes(16), nonce, plaintext, aad))).toBe(
      'ERR_CRYPTO_INPUT',
    );
    expect(thrownCode(() => gcmOpen(randomBytes(16), nonce, sealed, aad))).toBe('ERR_CRYPTO_INPUT');
    expect(thrownCode(() => gcmSeal(key, randomBytes(16), plaintext, aad))).toBe(
      'ERR_CRYPTO_INPUT',
    );
    expect(thrownCode(() => gcmSeal(key, Buffer.alloc(0), plaintext, aad))).toBe(
      'ERR_CRYPTO_INPUT',
    );
  });

  it('uses a vague message with no detail when decryption fails', () => {
    try {
      gcmOpen(key, nonce, flip(sealed, 0), aad);
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe('decryption failed');
      expect((err as Error).cause).toBeUndefined();
    }
  });
});

describe('short GCM tags', () => {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();

  it('shows raw Node accepts a 4-byte tag when authTagLength is omitted', () => {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag.subarray(0, 4));
    expect(Buffer.concat([decipher.update(ct), decipher.final()]).equals(plaintext)).toBe(true);
  });

  it('rejects the same ciphertext and 4-byte tag in gcmOpen', () => {
    expect(
      thrownCode(() => gcmOpen(key, nonce, Buffer.concat([ct, tag.subarray(0, 4)]), aad)),
    ).toBe('ERR_DECRYPT_FAILED');
    // A short message plus a short tag is shorter than one full tag: refused before Node.
    const tiny = Buffer.from('hi');
    const c2 = createCipheriv('aes-256-gcm', key, nonce);
    const ct2 = Buffer.concat([c2.update(tiny), c2.final()]);
    const shortInput = Buffer.concat([ct2, c2.getAuthTag().subarray(0, 4)]);
    expect(shortInput.length).toBeLessThan(16);
    expect(thrownCode(() => gcmOpen(key, nonce, shortInput, Buffer.alloc(0)))).toBe(
      'ERR_DECRYPT_FAILED',
    );
  });

  it('rejects truncated tags in the sealed format too', () => {
    const sealer = createGcmSealer(key);
    const sealed = sealer.seal(plaintext, aad);
    for (const cut of [1, 4, 8, 12]) {
      expect(thrownCode(() => sealer.open(sealed.subarray(0, sealed.length - cut), aad))).toBe(
        'ERR_DECRYPT_FAILED',
      );
    }
  });
});

describe('createGcmSealer', () => {
  it('writes version 0x01, the nonce, the ciphertext and a 16-byte tag', () => {
    const sealed = createGcmSealer(key).seal(plaintext, aad);
    expect(sealed[0]).toBe(0x01);
    expect(sealed.length).toBe(plaintext.length + GCM_SEALED_OVERHEAD);
    expect(GCM_SEALED_OVERHEAD).toBe(29);
  });

  it('never repeats a nonce across many seals when counting up', () => {
    const sealer = createGcmSealer(key);
    const nonces = new Set<string>();
    const count = 20_000;
    for (let i = 0; i < count; i++)
      nonces.add(sealer.seal(Buffer.alloc(0), aad).subarray(1, 13).toString('hex'));
    expect(nonces.size).toBe(count);
  });

  it('gives each sealer its own random nonce prefix when several share a key', () => {
    const prefixes = new Set<string>();
    for (let i = 0; i < 200; i++)
      prefixes.add(createGcmSealer(key).seal(plaintext, aad).subarray(1, 9).toString('hex'));
    expect(prefixes.size).toBe(200);
  });

  it('refuses to seal past maxMessages with ERR_NONCE_EXHAUSTED, but still opens', () => {
    const sealer = createGcmSealer(key, { maxMessages: 1000 });
    let last: Buffer | undefined;
    for (let i = 0; i < 1000; i++) last = sealer.seal(plaintext, aad);
    expect(sealer.remaining).toBe(0);
    expect(thrownCode(() => sealer.seal(plaintext, aad))).toBe('ERR_NONCE_EXHAUSTED');
    expect(thrownCode(() => sealer.seal(plaintext, aad))).toBe('ERR_NONCE_EXHAUSTED');
    expect(sealer.open(last!, aad).equals(plaintext)).toBe(true);
  });

  it('defaults to a cap of 2^24 messages and refuses bad caps', () => {
    expect(createGcmSealer(key).remaining).toBe(DEFAULT_MAX_MESSAGES);
    expect(DEFAULT_MAX_MESSAGES).toBe(2 ** 24);
    expect(thrownCode(() => createGcmSealer(key, { maxMessages: 0 }).seal(plaintext, aad))).toBe(
      'ERR_NONCE_EXHAUSTED',
    );
    for (const maxMessages of [-1, 1.5, 2 ** 32]) {
      expect(thrownCode(() => createGcmSealer(key, { maxMessages }))).toBe('ERR_CRYPTO_INPUT');
    }
  });

  it('keeps its own copy of the key and wipes it when destroyed', () => {
    const callerKey = Buffer.from(key);
    const sealer = createGcmSealer(callerKey);
    const sealed = sealer.seal(plaintext, aad);
    callerKey.fill(0);
    expect(sealer.open(sealed, aad).equals(plaintext)).toBe(true);
    sealer.destroy();
    expect(thrownCode(() => sealer.open(sealed, aad))).toBe('ERR_CRYPTO_INPUT');
    expect(thrownCode(() => sealer.seal(plaintext, aad))).toBe('ERR_CRYPTO_INPUT');
  });

  it('authenticates the version byte', () => {
    const sealer = createGcmSealer(key);
    const sealed = sealer.seal(plaintext, aad);
    expect(thrownCode(() => sealer.open(flip(sealed, 0, 0x03), aad))).toBe('ERR_DECRYPT_FAILED');
    // Same nonce/ct/tag opened without the version byte in the AAD fails: the header is bound.
    expect(thrownCode(() => gcmOpen(key, sealed.subarray(1, 13), sealed.subarray(13), aad))).toBe(
      'ERR_DECRYPT_FAILED',
    );
  });
});

describe.each(AEAD_SUITES)('createAead(%s)', (suite) => {
  const aead = createAead(suite, key);
  const sealed = aead.seal(plaintext, aad);

  it('round-trips when key and aad match, including empty messages', () => {
    expect(aead.suite).toBe(suite);
    expect(aead.open(sealed, aad).equals(plaintext)).toBe(true);
    expect(aead.open(aead.seal(Buffer.alloc(0), Buffer.alloc(0)), Buffer.alloc(0)).length).toBe(0);
    const big = randomBytes(70_000);
    expect(aead.open(aead.seal(big, aad), aad).equals(big)).toBe(true);
  });

  it('opens what another instance sealed with the same key', () => {
    expect(createAead(suite, key).open(sealed, aad).equals(plaintext)).toBe(true);
  });

  it('produces different sealed bytes for the same plaintext', () => {
    expect(aead.seal(plaintext, aad).equals(aead.seal(plaintext, aad))).toBe(false);
  });

  it('rejects every tampering with ERR_DECRYPT_FAILED', () => {
    const attempts: Record<string, () => unknown> = {
      'flipped version': () => aead.open(flip(sealed, 0), aad),
      'flipped nonce/iv bit': () => aead.open(flip(sealed, 2), aad),
      'flipped ciphertext bit': () => aead.open(flip(sealed, 20), aad),
      'flipped last tag/mac bit': () => aead.open(flip(sealed, sealed.length - 1, 0x80), aad),
      'flipped first tag/mac bit': () =>
        aead.open(flip(sealed, sealed.length - (suite === 'aes-256-gcm' ? 16 : 32)), aad),
      'wrong aad': () => aead.open(sealed, flip(aad, 0)),
      'aad with extra byte': () => aead.open(sealed, Buffer.concat([aad, Buffer.of(0)])),
      'wrong key': () => createAead(suite, randomBytes(32)).open(sealed, aad),
      empty: () => aead.open(Buffer.alloc(0), aad),
      'extra trailing byte': () => aead.open(Buffer.concat([sealed, Buffer.of(0)]), aad),
    };
    for (const cut of [4, 8, 12, 15])
      attempts[`tag/mac truncated by ${cut}`] = () =>
        aead.open(sealed.subarray(0, sealed.length - cut), aad);
    const failures = Object.entries(attempts)
      .map(([name, fn]) => [name, thrownCode(fn)] as const)
      .filter(([, code]) => code !== 'ERR_DECRYPT_FAILED');
    expect(failures).toEqual([]);
  });

  it('rejects a message sealed under the other suite with the same key', () => {
    const other = AEAD_SUITES.find((s) => s !== suite)!;
    expect(thrownCode(() => aead.open(createAead(other, key).seal(plaintext, aad), aad))).toBe(
      'ERR_DECRYPT_FAILED',
    );
  });

  it('refuses to seal past maxMessages', () => {
    const capped = createAead(suite, key, { maxMessages: 3 });
    for (let i = 0; i < 3; i++) capped.seal(plaintext, aad);
    expect(capped.remaining).toBe(0);
    expect(thrownCode(() => capped.seal(plaintext, aad))).toBe('ERR_NONCE_EXHAUSTED');
  });

  it('refuses keys other than 32 bytes', () => {
    expect(thrownCode(() => createAead(suite, randomBytes(16)))).toBe('ERR_CRYPTO_INPUT');
  });
});

describe('isAeadSuite', () => {
  it('accepts only the known suite names', () => {
    expect(isAeadSuite('aes-256-gcm')).toBe(true);
    expect(isAeadSuite('aes-256-cbc-hmac-sha256')).toBe(true);
    expect(isAeadSuite('aes-256-cbc')).toBe(false);
    expect(isAeadSuite(undefined)).toBe(false);
  });
});
