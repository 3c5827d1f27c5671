import { describe, expect, it } from 'vitest';
import {
  acceptTranscriptFields,
  decodeAccept,
  decodeConfirm,
  decodeDone,
  decodeOffer,
  decodeProblem,
  offerFields,
  type HandshakeAccept,
  type HandshakeOffer,
} from '../../src/protocol/handshake.codec.js';

const b64 = (n: number, byte = 1): string => Buffer.alloc(n, byte).toString('base64url');
const PEER_A = 'a'.repeat(64);
const PEER_B = 'b'.repeat(64);

const offer: HandshakeOffer = {
  v: 1,
  type: 'hs.offer',
  sid: b64(16),
  from: PEER_A,
  kind: 'ed25519',
  publicKey: b64(44),
  to: PEER_B,
  eph: b64(32, 2),
  rsaKey: null,
  nonce: b64(32, 3),
  ts: 1_767_225_600_000,
  suites: ['x25519-aes256gcm'],
  sig: b64(64, 4),
};

const accept: HandshakeAccept = {
  v: 1,
  type: 'hs.accept',
  sid: offer.sid,
  from: PEER_B,
  kind: 'ed25519',
  publicKey: b64(44, 5),
  eph: b64(32, 6),
  wrapped: null,
  nonce: b64(32, 7),
  ts: 1_767_225_600_500,
  suite: 'x25519-aes256gcm',
  auth: b64(48, 8),
  sig: b64(64, 9),
};

const offerWith = (over: Record<string, unknown>): unknown => ({ ...offer, ...over });
const acceptWith = (over: Record<string, unknown>): unknown => ({ ...accept, ...over });

describe('decodeOffer', () => {
  it('accepts a well-formed offer unchanged', () => {
    expect(decodeOffer(offer)).toEqual({ ok: true, value: offer });
  });

  it('accepts an RSA offer with rsaKey and no eph, and unknown suite names beside known ones', () => {
    const r = decodeOffer(
      offerWith({ eph: null, rsaKey: b64(422), suites: ['x448-future', 'rsaoaep-aes256gcm'] }),
    );
    expect(r.ok).toBe(true);
  });

  it('says malformed for non-objects and unsupported-version for another v', () => {
    for (const body of [null, 'x', 42, [], true]) {
      expect(decodeOffer(body)).toMatchObject({ ok: false, error: { reason: 'malformed' } });
    }
    expect(decodeOffer(offerWith({ v: 2 }))).toMatchObject({
      ok: false,
      error: { reason: 'unsupported-version', detail: 'v=2' },
    });
  });

  it('refuses a hostile v without throwing (String() of {"toString": null} throws)', () => {
    for (const v of ['{"toString":null}', '{"valueOf":1,"toString":2}', '[1]', '"x"', 'null']) {
      const r = decodeOffer(offerWith({ v: JSON.parse(v) as unknown }));
      expect(r, v).toMatchObject({ ok: false, error: { reason: 'unsupported-version' } });
      if (!r.ok) expect(r.error.detail.length, v).toBeLessThan(40);
    }
  });

  it.each<[string, Record<string, unknown>]>([
    ['an extra key', { extra: 1 }],
    ['a short sid', { sid: b64(15) }],
    ['a long nonce', { nonce: b64(33) }],
    ['padding', { nonce: `${b64(32, 3)}=` }],
    ['non-canonical trailing bits', { eph: `${b64(32, 2).slice(0, -1)}B` }],
    ['a base64 (not url) alphabet', { sid: '+'.repeat(22) }],
    ['an upper-case peer id', { from: 'A'.repeat(64) }],
    ['a missing to', { to: undefined }],
    ['a fractional ts', { ts: 1.5 }],
    ['a negative ts', { ts: -1 }],
    ['an unsafe ts', { ts: 2 ** 60 }],
    ['no suites', { suites: [] }],
    ['five suites', { suites: ['a', 'b', 'c', 'd', 'x25519-aes256gcm'] }],
    ['a repeated suite', { suites: ['x25519-aes256gcm', 'x25519-aes256gcm'] }],
    ['a suite name with spaces', { suites: ['x25519-aes256gcm', 'bad name'] }],
    ['eph without x25519', { suites: ['rsaoaep-aes256gcm'], rsaKey: b64(422) }],
    ['x25519 without eph', { eph: null }],
    ['rsaKey without rsaoaep', { rsaKey: b64(422) }],
    ['rsaoaep without rsaKey', { suites: ['x25519-aes256gcm', 'rsaoaep-aes256gcm'] }],
    ['a kind we do not know', { kind: 'ecdsa' }],
    ['a signature too short', { sig: b64(63) }],
    ['a wrong type', { type: 'hs.accept' }],
  ])('refuses %s', (_name, over) => {
    expect(decodeOffer(offerWith(over))).toMatchObject({ ok: false, error: { reason: 'invalid' } });
  });

  it('refuses a __proto__ key from JSON.parse', () => {
    const body = JSON.parse(JSON.stringify(offer).replace('{', '{"__proto__":{"x":1},'));
    expect(decodeOffer(body).ok).toBe(false);
  });
});

describe('decodeAccept', () => {
  it('accepts a well-formed x25519 accept and an RSA one', () => {
    expect(decodeAccept(accept)).toEqual({ ok: true, value: accept });
    const rsa = acceptWith({ eph: null, wrapped: b64(384), suite: 'rsaoaep-aes256gcm' });
    expect(decodeAccept(rsa).ok).toBe(true);
  });

  it.each<[string, Record<string, unknown>]>([
    ['an unknown suite', { suite: 'x448-future' }],
    ['eph with the RSA suite', { suite: 'rsaoaep-aes256gcm', wrapped: b64(384) }],
    ['wrapped with the x25519 suite', { wrapped: b64(384) }],
    ['neither eph nor wrapped', { eph: null }],
    ['a short auth', { auth: b64(47) }],
    [
      'a wrapped key of a 2048-bit modulus',
      { suite: 'rsaoaep-aes256gcm', eph: null, wrapped: b64(256) },
    ],
    ['a to field', { to: null }],
  ])('refuses %s', (_name, over) => {
    expect(decodeAccept(acceptWith(over)).ok).toBe(false);
  });
});

describe('decodeConfirm / decodeDone', () => {
  const mac = b64(32, 9);
  it('accepts each and refuses the other type', () => {
    const confirm = { v: 1, type: 'hs.confirm', sid: offer.sid, mac };
    const done = { v: 1, type: 'hs.done', sid: offer.sid, mac };
    expect(decodeConfirm(confirm)).toEqual({ ok: true, value: confirm });
    expect(decodeDone(done)).toEqual({ ok: true, value: done });
    expect(decodeConfirm(done).ok).toBe(false);
    expect(decodeDone(confirm).ok).toBe(false);
    expect(decodeConfirm({ ...confirm, mac: b64(31) }).ok).toBe(false);
  });
});

describe('signed field lists', () => {
  it('lists the offer fields in the exact order of protocol §2.1', () => {
    const { sig: _sig, ...unsigned } = offer;
    expect(offerFields(unsigned)).toEqual([
      1,
      'hs.offer',
      offer.sid,
      PEER_A,
      'ed25519',
      offer.publicKey,
      PEER_B,
      offer.eph,
      '',
      offer.nonce,
      offer.ts,
      '["x25519-aes256gcm"]',
    ]);
  });

  it('encodes absent to/eph/rsaKey as empty strings', () => {
    const fields = offerFields({ ...offer, to: null, eph: null, rsaKey: b64(422) });
    expect(fields.slice(6, 9)).toEqual(['', '', b64(422)]);
  });

  it('lists the transcript: offer fields, offer sig, then the accept up to suite (§2.3)', () => {
    expect(acceptTranscriptFields(offer, accept)).toEqual([
      ...offerFields(offer),
      offer.sig,
      1,
      'hs.accept',
      accept.sid,
      PEER_B,
      'ed25519',
      accept.publicKey,
      accept.eph,
      '',
      accept.nonce,
      accept.ts,
      'x25519-aes256gcm',
    ]);
  });
});

describe('decodeProblem', () => {
  it('reads code and reason from a problem document and ignores anything else', () => {
    expect(
      decodeProblem({ type: 'urn:x', status: 422, code: 'ERR_HANDSHAKE_FAILED', reason: 'stale' }),
    ).toEqual({ code: 'ERR_HANDSHAKE_FAILED', reason: 'stale' });
    expect(decodeProblem({ code: 'ERR_OVERLOADED' })).toEqual({ code: 'ERR_OVERLOADED' });
    expect(decodeProblem({ code: 'not a code' })).toBeUndefined();
    expect(decodeProblem('nope')).toBeUndefined();
  });
});
