import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Labels } from '../../src/crypto/hkdf.js';
import {
  generateX25519KeyPair,
  importX25519PrivateKey,
  importX25519PublicKey,
  x25519DeriveKey,
  x25519PublicKeyRaw,
  x25519SharedSecret,
} from '../../src/crypto/x25519.js';
import { thrownCode } from './wycheproof.js';

const hex = (s: string) => Buffer.from(s, 'hex');

describe('x25519', () => {
  it('agrees on one shared secret when both sides derive it', () => {
    const alice = generateX25519KeyPair();
    const bob = generateX25519KeyPair();
    const ab = x25519SharedSecret(alice.privateKey, bob.publicKeyRaw);
    const ba = x25519SharedSecret(bob.privateKey, importX25519PublicKey(alice.publicKeyRaw));
    expect(ab.length).toBe(32);
    expect(ab.equals(ba)).toBe(true);
  });

  it('matches RFC 7748 section 6.1 when given its fixed keys', () => {
    const alicePrivate = importX25519PrivateKey(
      hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'),
    );
    const bobPublic = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    expect(x25519SharedSecret(alicePrivate, bobPublic).toString('hex')).toBe(
      '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
    );
  });

  it('exposes the raw public key as 32 bytes that import back to the same key', () => {
    const pair = generateX25519KeyPair();
    expect(pair.publicKeyRaw.length).toBe(32);
    expect(
      x25519PublicKeyRaw(importX25519PublicKey(pair.publicKeyRaw)).equals(pair.publicKeyRaw),
    ).toBe(true);
  });

  it('refuses an all-zero shared secret with ERR_WEAK_KEY when the peer key has low order', () => {
    const pair = generateX25519KeyPair();
    for (const lowOrder of [Buffer.alloc(32), Buffer.concat([Buffer.of(1), Buffer.alloc(31)])]) {
      expect(thrownCode(() => x25519SharedSecret(pair.privateKey, lowOrder))).toBe('ERR_WEAK_KEY');
      expect(
        thrownCode(() =>
          x25519DeriveKey(pair.privateKey, lowOrder, {
            salt: Buffer.alloc(0),
            info: Labels.handshake,
          }),
        ),
      ).toBe('ERR_WEAK_KEY');
    }
  });

  it('refuses public keys that are not 32 bytes and keys of the wrong type', () => {
    const pair = generateX25519KeyPair();
    expect(thrownCode(() => importX25519PublicKey(Buffer.alloc(31)))).toBe('ERR_CRYPTO_INPUT');
    expect(thrownCode(() => x25519SharedSecret(pair.privateKey, Buffer.alloc(33)))).toBe(
      'ERR_CRYPTO_INPUT',
    );
    const ed = generateKeyPairSync('ed25519');
    expect(thrownCode(() => x25519SharedSecret(ed.privateKey, pair.publicKey))).toBe(
      'ERR_CRYPTO_INPUT',
    );
    expect(thrownCode(() => x25519SharedSecret(pair.privateKey, ed.publicKey))).toBe(
      'ERR_CRYPTO_INPUT',
    );
    expect(thrownCode(() => x25519SharedSecret(pair.privateKey, pair.privateKey))).toBe(
      'ERR_CRYPTO_INPUT',
    );
  });

  it('derives equal keys on both sides and different keys for different labels', () => {
    const a = generateX25519KeyPair();
    const b = generateX25519KeyPair();
    const salt = Buffer.alloc(32, 7);
    const k1 = x25519DeriveKey(a.privateKey, b.publicKeyRaw, { salt, info: Labels.handshake });
    const k2 = x25519DeriveKey(b.privateKey, a.publicKeyRaw, { salt, info: Labels.handshake });
    const k3 = x25519DeriveKey(a.privateKey, b.publicKeyRaw, {
      salt,
      info: Labels.sessionChain,
      length: 64,
    });
    expect(k1.equals(k2)).toBe(true);
    expect(k3.length).toBe(64);
    expect(k3.subarray(0, 32).equals(k1)).toBe(false);
    // The derived key is not the raw ECDH output.
    expect(k1.equals(x25519SharedSecret(a.privateKey, b.publicKeyRaw))).toBe(false);
  });
});
