import { beforeAll, describe, expect, it } from 'vitest';
import { createBeaconVerifier } from '../../../src/actors/discovery/beacon-verifier.js';
import {
  exportPublicKey,
  generateIdentity,
  sign,
  SignatureDomains,
  toBase64Url,
  type Identity,
} from '../../../src/crypto/index.js';
import {
  beaconSigningFields,
  type Beacon,
  type UnsignedBeacon,
} from '../../../src/protocol/beacon.codec.js';

function makeBeacon(id: Identity, over: Partial<UnsignedBeacon> = {}): Beacon {
  const unsigned: UnsignedBeacon = {
    v: 1,
    type: 'beacon',
    peerId: id.fingerprint,
    name: 'bob',
    kind: id.kind,
    publicKey: exportPublicKey(id),
    port: 7400,
    addrs: ['10.0.0.2'],
    rooms: [],
    ts: 1_000_000,
    seq: 1,
    ...over,
  };
  return {
    ...unsigned,
    sig: toBase64Url(sign(id.privateKey, SignatureDomains.beacon, beaconSigningFields(unsigned))),
  };
}
const bytes = (b: unknown): Buffer => Buffer.from(JSON.stringify(b));

describe('beacon verifier', () => {
  let me: Identity;
  let bob: Identity;
  let mallory: Identity;
  beforeAll(async () => {
    [me, bob, mallory] = await Promise.all([
      generateIdentity('ed25519'),
      generateIdentity('ed25519'),
      generateIdentity('ed25519'),
    ]);
  });
  const verifier = () => createBeaconVerifier({ selfPeerId: me.fingerprint });

  it('accepts a fresh beacon signed by the key its peer id names', () => {
    const v = verifier();
    const r = v.check(bytes(makeBeacon(bob)), '10.0.0.2', 1_000_500);
    expect(r).toMatchObject({ ok: true, beacon: { peerId: bob.fingerprint, name: 'bob' } });
  });

  it('ignores its own beacons without counting them as drops', () => {
    const v = verifier();
    expect(v.check(bytes(makeBeacon(me)), '10.0.0.1', 1_000_000)).toEqual({
      ok: false,
      reason: 'self',
    });
    expect(Object.values(v.dropped).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('drops a stale beacon', () => {
    const v = verifier();
    expect(v.check(bytes(makeBeacon(bob)), 'a', 1_000_000 + 31_000)).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(v.dropped.stale).toBe(1);
  });

  it('drops a replayed beacon and one older than the last accepted', () => {
    const v = verifier();
    const b2 = makeBeacon(bob, { seq: 2 });
    expect(v.check(bytes(b2), 'a', 1_000_000).ok).toBe(true);
    expect(v.check(bytes(b2), 'b', 1_000_000)).toEqual({ ok: false, reason: 'replayed' });
    expect(v.check(bytes(makeBeacon(bob, { seq: 1 })), 'c', 1_000_000)).toEqual({
      ok: false,
      reason: 'replayed',
    });
  });

  it('drops a beacon whose peer id is not the fingerprint of its key (spoofed)', () => {
    const v = verifier();
    // mallory signs a beacon claiming bob's peer id with her own key
    const forged = makeBeacon(mallory, { peerId: bob.fingerprint });
    expect(v.check(bytes(forged), 'a', 1_000_000)).toEqual({ ok: false, reason: 'spoofed' });
  });

  it('drops a beacon whose signature does not cover its content', () => {
    const v = verifier();
    const b = { ...makeBeacon(bob), name: 'bob-renamed' };
    expect(v.check(bytes(b), 'a', 1_000_000)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('drops oversized, malformed, wrong-version and invalid datagrams by reason', () => {
    const v = verifier();
    expect(v.check(Buffer.alloc(5000, 0x20), 'a', 0)).toMatchObject({ reason: 'oversized' });
    expect(v.check(Buffer.from('{nope'), 'b', 0)).toMatchObject({ reason: 'malformed' });
    expect(v.check(bytes({ ...makeBeacon(bob), v: 2 }), 'c', 0)).toMatchObject({
      reason: 'unsupported-version',
    });
    // a v that String() cannot convert: counted, not thrown
    expect(v.check(Buffer.from('{"v":{"toString":null}}'), 'c2', 0)).toMatchObject({
      reason: 'unsupported-version',
    });
    expect(v.check(bytes({ ...makeBeacon(bob), port: 'x' }), 'd', 0)).toMatchObject({
      reason: 'invalid',
    });
    expect(v.check(bytes({ ...makeBeacon(bob), extra: 1 }), 'e', 0)).toMatchObject({
      reason: 'invalid',
    });
    expect(v.dropped).toMatchObject({
      oversized: 1,
      malformed: 1,
      'unsupported-version': 2,
      invalid: 2,
    });
  });

  it('rate-limits one source address', () => {
    const v = createBeaconVerifier({ selfPeerId: me.fingerprint, ratePerSec: 1, burst: 3 });
    const results = Array.from({ length: 10 }, () => v.check(Buffer.from('x'), '10.9.9.9', 5_000));
    expect(results.filter((r) => !r.ok && r.reason === 'rate-limited')).toHaveLength(7);
    expect(v.dropped['rate-limited']).toBe(7);
    expect(v.dropped.malformed).toBe(3);
  });
});
