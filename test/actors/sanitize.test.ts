import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { REDACTED, isSecretFieldName, sanitize } from '../../src/actors/sanitize.js';

describe('sanitize', () => {
  it('redacts fields named like secrets', () => {
    const out = sanitize({
      password: 'hunter2',
      roomKey: 'abc',
      sessionKey: 'x',
      privateKey: 'p',
      apiToken: 't',
      passphrase: 'pp',
      sharedSecret: 's',
      key: 'k',
      nested: { masterKey: 'm', ok: 1 },
    });
    expect(out).toEqual({
      password: REDACTED,
      roomKey: REDACTED,
      sessionKey: REDACTED,
      privateKey: REDACTED,
      apiToken: REDACTED,
      passphrase: REDACTED,
      sharedSecret: REDACTED,
      key: REDACTED,
      nested: { masterKey: REDACTED, ok: 1 },
    });
  });

  it('keeps public facts such as publicKey, keyId and fingerprint', () => {
    expect(isSecretFieldName('publicKey')).toBe(false);
    expect(isSecretFieldName('keyId')).toBe(false);
    expect(isSecretFieldName('fingerprint')).toBe(false);
    expect(sanitize({ publicKey: 'pk', keyId: 'k1' })).toEqual({ publicKey: 'pk', keyId: 'k1' });
  });

  it('never lets raw bytes or key objects through, whatever the field name', () => {
    const bytes = randomBytes(32);
    const { privateKey } = generateKeyPairSync('ed25519');
    const out = JSON.stringify(
      sanitize({ harmless: bytes, list: [new Uint8Array(bytes)], k: privateKey, ab: bytes.buffer }),
    );
    expect(out).not.toContain(bytes.toString('hex'));
    expect(out).not.toContain(bytes.toString('base64'));
    expect(out).toContain('"$redacted":"bytes"');
    expect(out).toContain('"$redacted":"key"');
  });

  it('produces JSON-compatible values for dates, bigint, maps and undefined', () => {
    const out = sanitize({
      d: new Date(0),
      b: 10n,
      m: new Map([['a', 1]]),
      u: undefined,
      f: () => 1,
    });
    expect(out).toEqual({ d: '1970-01-01T00:00:00.000Z', b: '10', m: { a: 1 } });
  });

  it('bounds depth on deep or cyclic-looking structures', () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 50; i++) {
      deep.next = {};
      deep = deep.next as Record<string, unknown>;
    }
    expect(() => JSON.stringify(sanitize(root))).not.toThrow();
    // the walk stops at the depth limit instead of copying all 50 levels
    expect(JSON.stringify(sanitize(root))).toContain('[depth limit]');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(JSON.stringify(sanitize(cyclic))).toContain('[depth limit]');
  });
});
