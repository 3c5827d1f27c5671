import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeFields } from '../../src/crypto/bytes.js';
import { generateIdentity, type Identity } from '../../src/crypto/identity.js';
import {
  _rawSign,
  _rawVerify,
  sign,
  SignatureDomains,
  verify,
} from '../../src/crypto/signature.js';
import { thrownCode } from './wycheproof.js';

const domain = SignatureDomains.handshakeRequest;
const fields = ['peer-a', Buffer.from([1, 2, 3]), 1_700_000_000_000, 42n] as const;

// One RSA-3072 keygen for the file (about a second).
let rsa: Identity;
let ed: Identity;
beforeAll(async () => {
  [rsa, ed] = await Promise.all([generateIdentity('rsa'), generateIdentity('ed25519')]);
}, 60_000);

describe.each(['ed25519', 'rsa'] as const)('sign / verify with %s', (kind) => {
  const me = () => (kind === 'rsa' ? rsa : ed);
  const other = () => (kind === 'rsa' ? ed : rsa);

  it('verifies a signature when domain, fields and key match', () => {
    const sig = sign(me().privateKey, domain, fields);
    expect(sig.length).toBe(kind === 'rsa' ? 384 : 64);
    expect(verify(me().publicKey, domain, fields, sig)).toBe(true);
  });

  it('rejects a signature when the domain differs', () => {
    const sig = sign(me().privateKey, SignatureDomains.beacon, ['x']);
    expect(verify(me().publicKey, SignatureDomains.roomEvent, ['x'], sig)).toBe(false);
  });

  it('rejects a signature when the same bytes are split into fields differently', () => {
    const sig = sign(me().privateKey, domain, ['ab', 'c']);
    expect(verify(me().publicKey, domain, ['a', 'bc'], sig)).toBe(false);
    expect(verify(me().publicKey, domain, ['abc'], sig)).toBe(false);
    expect(verify(me().publicKey, domain, [Buffer.from('ab'), 'c'], sig)).toBe(false);
  });

  it('rejects a signature when any field changes or the key is another', () => {
    const sig = sign(me().privateKey, domain, fields);
    expect(
      verify(
        me().publicKey,
        domain,
        ['peer-a', Buffer.from([1, 2, 3]), 1_700_000_000_001, 42n],
        sig,
      ),
    ).toBe(false);
    expect(verify(other().publicKey, domain, fields, sig)).toBe(false);
  });

  it('returns false without throwing when the signature is garbage', () => {
    const sig = sign(me().privateKey, domain, fields);
    const flipped = Buffer.from(sig);
    flipped[10]! ^= 1;
    const garbage = [
      Buffer.alloc(0),
      Buffer.alloc(64),
      randomBytes(64),
      randomBytes(384),
      randomBytes(5000),
      flipped,
      sig.subarray(1),
    ];
    for (const bad of garbage) expect(verify(me().publicKey, domain, fields, bad)).toBe(false);
  });

  it('returns false without throwing when the key or fields are unusable', () => {
    const sig = sign(me().privateKey, domain, fields);
    expect(verify(me().privateKey, domain, fields, sig)).toBe(false);
    expect(verify(me().publicKey, domain, ['\uD800'], sig)).toBe(false);
    expect(verify(me().publicKey, '', fields, sig)).toBe(false);
  });
});

describe('RSA-PSS policy', () => {
  it('produces randomized signatures that all verify', () => {
    const a = sign(rsa.privateKey, domain, fields);
    const b = sign(rsa.privateKey, domain, fields);
    expect(a.equals(b)).toBe(false);
    expect(
      verify(rsa.publicKey, domain, fields, a) && verify(rsa.publicKey, domain, fields, b),
    ).toBe(true);
  });

  it('refuses RSA keys under 3072 bits in sign and verify', () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(thrownCode(() => sign(weak.privateKey, domain, fields))).toBe('ERR_CRYPTO_INPUT');
    const sig = _rawSign(weak.privateKey, encodeFields(domain, fields));
    expect(_rawVerify(weak.publicKey, encodeFields(domain, fields), sig)).toBe(true);
    expect(verify(weak.publicKey, domain, fields, sig)).toBe(false);
  });

  it('refuses keys that are not identity keys', () => {
    const x = generateKeyPairSync('x25519');
    expect(thrownCode(() => sign(x.privateKey, domain, fields))).toBe('ERR_CRYPTO_INPUT');
    expect(verify(x.publicKey, domain, fields, Buffer.alloc(64))).toBe(false);
  });
});

describe('SignatureDomains', () => {
  it('are distinct and versioned', () => {
    const values = Object.values(SignatureDomains);
    expect(new Set(values).size).toBe(values.length);
    for (const value of values) expect(value).toMatch(/^conclave\/v1 sig \S/);
  });
});
