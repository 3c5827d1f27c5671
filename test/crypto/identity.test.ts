import { createHash, generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { toBase64Url } from '../../src/crypto/bytes.js';
import {
  exportPrivateKey,
  exportPublicKey,
  formatFingerprint,
  generateIdentity,
  importPrivateKey,
  importPublicKey,
  isFingerprint,
  parseFingerprint,
  shortPeerId,
  type Identity,
} from '../../src/crypto/identity.js';
import { sign, verify } from '../../src/crypto/signature.js';
import { thrownCode } from './wycheproof.js';

// One RSA-3072 keygen for the file.
let rsa: Identity;
let ed: Identity;
beforeAll(async () => {
  [rsa, ed] = await Promise.all([generateIdentity('rsa'), generateIdentity('ed25519')]);
}, 60_000);

describe('generateIdentity', () => {
  it('makes an Ed25519 identity whose fingerprint is the SHA-256 of its SPKI DER', () => {
    expect(ed.kind).toBe('ed25519');
    expect(ed.publicKeyBytes.equals(ed.publicKey.export({ type: 'spki', format: 'der' }))).toBe(
      true,
    );
    expect(ed.fingerprint).toBe(createHash('sha256').update(ed.publicKeyBytes).digest('hex'));
    expect(isFingerprint(ed.fingerprint)).toBe(true);
  });

  it('makes an RSA-PSS 3072 identity with e = 65537 and PSS parameters pinned', () => {
    expect(rsa.kind).toBe('rsa');
    expect(rsa.publicKey.asymmetricKeyType).toBe('rsa-pss');
    expect(rsa.publicKey.asymmetricKeyDetails).toMatchObject({
      modulusLength: 3072,
      publicExponent: 65537n,
      hashAlgorithm: 'sha256',
      mgf1HashAlgorithm: 'sha256',
      saltLength: 32,
    });
  });

  it('makes a different identity each time', async () => {
    expect((await generateIdentity('ed25519')).fingerprint).not.toBe(ed.fingerprint);
  });
});

describe('fingerprint formatting', () => {
  it('groups a fingerprint in 16 groups of 4 hex digits and parses it back', () => {
    const formatted = formatFingerprint(ed.fingerprint);
    expect(formatted).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){15}$/);
    expect(parseFingerprint(formatted)).toBe(ed.fingerprint);
    expect(parseFingerprint(formatted.toUpperCase().replace(/ /g, ':'))).toBe(ed.fingerprint);
  });

  it('shortens a peer id to its first 12 hex digits', () => {
    expect(shortPeerId(ed.fingerprint)).toBe(ed.fingerprint.slice(0, 12));
  });

  it('refuses strings that are not fingerprints', () => {
    for (const bad of [
      '',
      'abc',
      ed.fingerprint.toUpperCase(),
      `${ed.fingerprint}0`,
      'g'.repeat(64),
    ]) {
      expect(thrownCode(() => formatFingerprint(bad))).toBe('ERR_INVALID_ARGUMENT');
      expect(isFingerprint(bad)).toBe(false);
    }
    expect(thrownCode(() => parseFingerprint('12 34'))).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('importPublicKey', () => {
  it('round-trips both kinds with the same fingerprint when exported for the wire', () => {
    for (const me of [ed, rsa]) {
      const peer = importPublicKey(exportPublicKey(me));
      expect(peer.kind).toBe(me.kind);
      expect(peer.fingerprint).toBe(me.fingerprint);
      expect(exportPublicKey(me.publicKey)).toBe(exportPublicKey(me));
      const sig = sign(me.privateKey, 'conclave/v1 test', ['x']);
      expect(verify(peer.publicKey, 'conclave/v1 test', ['x'], sig)).toBe(true);
    }
  });

  it('returns the cached key when the same text is imported again', () => {
    const text = exportPublicKey(ed);
    expect(importPublicKey(text)).toBe(importPublicKey(text));
  });

  it('evicts the least recently used key when the cache is full', () => {
    const first = generateKeyPairSync('ed25519').publicKey;
    const text = exportPublicKey(first);
    const original = importPublicKey(text);
    for (let i = 0; i < 256; i++)
      importPublicKey(exportPublicKey(generateKeyPairSync('ed25519').publicKey));
    const again = importPublicKey(text);
    expect(again).not.toBe(original);
    expect(again.fingerprint).toBe(original.fingerprint);
  });

  it('refuses malformed, non-canonical, unsupported and weak keys', () => {
    const der = ed.publicKeyBytes;
    // The same key with a non-minimal (long-form) outer DER length.
    const longForm = Buffer.concat([Buffer.from([0x30, 0x81, der[1]!]), der.subarray(2)]);
    const cases: Array<[string, string]> = [
      ['garbage', 'not base64!'],
      ['padded base64', `${der.toString('base64url')}=`],
      ['truncated', toBase64Url(der.subarray(0, der.length - 1))],
      ['trailing byte', toBase64Url(Buffer.concat([der, Buffer.of(0)]))],
      ['long-form DER length', toBase64Url(longForm)],
      ['x25519 key', exportPublicKey(generateKeyPairSync('x25519').publicKey)],
      ['p-256 key', exportPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)],
      ['too long', 'A'.repeat(5000)],
    ];
    const accepted = cases.filter(
      ([, text]) => thrownCode(() => importPublicKey(text)) !== 'ERR_CRYPTO_INPUT',
    );
    expect(accepted.map(([name]) => name)).toEqual([]);
    const weak = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    expect(thrownCode(() => importPublicKey(exportPublicKey(weak)))).toBe('ERR_WEAK_KEY');
  });
});

describe('exportPrivateKey / importPrivateKey', () => {
  it('round-trips both kinds to the same identity', () => {
    for (const me of [ed, rsa]) {
      const back = importPrivateKey(exportPrivateKey(me), me.kind);
      expect(back.fingerprint).toBe(me.fingerprint);
      expect(back.kind).toBe(me.kind);
    }
  });

  it('refuses garbage and a key of another kind than expected', () => {
    expect(thrownCode(() => importPrivateKey(Buffer.from('nope')))).toBe('ERR_CRYPTO_INPUT');
    expect(thrownCode(() => importPrivateKey(exportPrivateKey(ed), 'rsa'))).toBe(
      'ERR_CRYPTO_INPUT',
    );
    const x = generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'der' });
    expect(thrownCode(() => importPrivateKey(x))).toBe('ERR_CRYPTO_INPUT');
  });
});
