/**
 * The unsigned hello (`GET /p2p/v1/hello`, reached from an mDNS hint or a static --peer) proves a
 * peer id from its public key; the key kind it claims must be the key's own, else discovery would
 * record the peer under a kind it does not have.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { exportPublicKey, generateIdentity, type Identity } from '../../src/crypto/index.js';
import { checkHello } from '../../src/transport/http/peer-hello.js';

const helloOf = (id: Identity, identityKind: 'ed25519' | 'rsa') => ({
  v: 1,
  peerId: id.fingerprint,
  name: 'peer',
  identityKind,
  publicKey: exportPublicKey(id),
});

let ed: Identity;
let rsa: Identity;
beforeAll(async () => {
  [ed, rsa] = await Promise.all([generateIdentity('ed25519'), generateIdentity('rsa')]);
}, 60_000);

describe('checkHello', () => {
  it('proves a hello whose kind is its key’s', () => {
    expect(checkHello(helloOf(ed, 'ed25519'), ed.fingerprint)).toEqual({
      ok: true,
      value: { peerId: ed.fingerprint, name: 'peer', kind: 'ed25519' },
    });
    const r = checkHello(helloOf(rsa, 'rsa'), null);
    expect(r.ok && r.value.kind).toBe('rsa');
  });

  it('refuses an ed25519 key listed as rsa, and an rsa key listed as ed25519', () => {
    expect(checkHello(helloOf(ed, 'rsa'), ed.fingerprint)).toEqual({ ok: false, error: 'bad-key' });
    expect(checkHello(helloOf(rsa, 'ed25519'), null)).toEqual({ ok: false, error: 'bad-key' });
  });
});
