import {
  createHash,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeFields } from '../../src/crypto/bytes.js';
import { buildAccept, checkAccept } from '../../src/crypto/handshake-accept.js';
import {
  chainsFor,
  confirmMac,
  verifyConfirmMac,
} from '../../src/crypto/handshake-key-schedule.js';
import { buildOffer, checkOffer } from '../../src/crypto/handshake-offer.js';
import { exportRsaTransportKey, importRsaTransportKey } from '../../src/crypto/handshake-keys.js';
import { Labels } from '../../src/crypto/hkdf.js';
import { generateIdentity } from '../../src/crypto/identity.js';
import { generateX25519KeyPair } from '../../src/crypto/x25519.js';
import {
  acceptTranscriptFields,
  TRANSCRIPT_DOMAIN,
  type HandshakeAccept,
  type HandshakeOffer,
} from '../../src/protocol/handshake.codec.js';
import {
  fixedBytes,
  fixedEphemeral,
  fixedIdentity,
  fixedRsaTransportKey,
} from './handshake.fixtures.js';
import { thrownCode } from './wycheproof.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const alice = fixedIdentity(0x11);
const bob = fixedIdentity(0x22);
const rsa = fixedRsaTransportKey();
const TS = 1_767_225_600_000;

/** The x25519 golden transcript: every input fixed, so every output is too. */
function goldenX25519() {
  const ephI = fixedEphemeral(0x33);
  const offer = buildOffer({
    identity: alice,
    sid: fixedBytes(16, 0x01),
    nonce: fixedBytes(32, 0x02),
    ts: TS,
    suites: ['x25519-aes256gcm', 'rsaoaep-aes256gcm'],
    to: bob.fingerprint,
    ephPublic: ephI.publicKeyRaw,
    rsaKey: exportRsaTransportKey(rsa.publicKey),
  });
  const built = buildAccept({
    identity: bob,
    offer,
    suite: 'x25519-aes256gcm',
    ts: TS + 500,
    nonce: fixedBytes(32, 0x03),
    sak: fixedBytes(32, 0x04),
    eph: fixedEphemeral(0x44),
  });
  return { ephI, offer, ...built };
}

// Frozen once from goldenX25519() (A04); any change to the transcript, labels or KDF breaks it.
const GOLDEN_X25519 = {
  offerSig:
    'QwA-DjIY0lKGUIkeGi2L6hsRCrMsW7WoEyAw99xKN2NoTRuYM-tHO8RnktSjBr0c3HjX5OKHgwlnkaLF53ywBA',
  acceptEph: '_y7kVgHsG2cxDHeQQEWFrmlzMe7hwfjPJBlzHB__Pms',
  auth: 'j2XjEFr51U-hEFv9LcGu02fmQBsjb4ejhpqMnI_G9bml-PLeWPItkY9OKp_eTW6F',
  acceptSig:
    'bYCthHPgD2iUun72BHf3PdQ5kJytnUetfNjX92dc_G7JFoxcUpBjh_bHZH6AqPHsnucTl0d0fBldurNPIIU-DA',
  th: '5ca9d790013f559224a09f887b628dc6e6b905202f6c7228f35ea7b33ec8f12b',
  keyId: '214de2392f03e917',
  sas: '53327 41909 07014 18926',
  kConfirm: '7a95b2c0d98ca3fc2e6d299c35a5e58ff5d5c957c2dbeb43ad2bc500bc8a4908',
  chains: {
    requestsIR: '06489201054b20f3e4b5199f656696dee3376d3f5ca9b9a5321c72d90bfa52ab',
    requestsRI: '1059f1983f4d50a1cf457cc162f587bb77a5c5bc373ce73b1d9560589409976c',
    pushIR: '7d97399539b6193b3f3974639fbbfabb7b0ab1ab9fdb9706cb272199ead78c68',
    pushRI: '7763fe2d66da04c3f828cfaf0ab3510eac43e7d840490a1e9a4e7f91d31abde0',
  },
  macI: '8dadc1617841df4998ef89568eca18cd68ab321f80940ed85455632f48c05190',
  macR: '81b9fe69c4eb50027b22b2275788f6cf5aeb5a4ddb060114825e9030cf9fcb42',
};

// Frozen RSA transcript (OAEP is randomized, so `wrapped` is a recorded value, opened with the
// fixed transport key in the fixtures).
const GOLDEN_RSA_OFFER: HandshakeOffer = {
  v: 1,
  type: 'hs.offer',
  sid: 'BQUFBQUFBQUFBQUFBQUFBQ',
  from: '503d8ee46d581c649966569ae095e27041de83322e8e0480e5539e00d2d5d874',
  kind: 'ed25519',
  publicKey: 'MCowBQYDK2VwAyEA0EqyMnQrtKs6E2i9RhXk5tAiSrcaAWuvhSCjMsl3hzc',
  to: null,
  eph: null,
  rsaKey:
    'MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEAnk_6iIiDIYmFaMKS0ZcHwt0jAR-pKEuc5fUjffBAwD__DUHoU4oA5f7qTlPo2SnleSXhnUs5s2xBJ2vOqp6iwf9Dd_4iI_cjF3p_PcfXnSipzGjMe_6hzQkr4oVJeW-5OKSPCRkY4iCmf-JVBibql0_Y9PPBFjlSlqBM5iAX8kHDpMpXpN6qWsJAHfV12R1oXNrwCgWsPt9sbkVn1sbv3x_ASLGz0SlQYOGD5naGnHaHoibRJiU4MgSriN0kjNXK-rBegLHH97TVZkIOJGMKedRN810koI7EGoLmKupDAzQhjZilzXPCfzSL0b4OzILirwu6OptmAnn1MS_dutbNi0DNOMVFugy83BbTTVAHkBCbLwCvFqjDt6JRbshEBLAtbZi47MdfHG3PVpUxLf6hEfp_gnBLeWfHTo0ftiY3-tO4oC0XoVVaZIq4ItBnFYnrGXK4fIlGSKkACqRoiOioTBsoTdAnLiYAnT0fymed6acjRf6x7IdfZiREzkK2_LbdAgMBAAE',
  nonce: 'BgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgY',
  ts: TS,
  suites: ['rsaoaep-aes256gcm'],
  sig: 'mwzD98Bkot0pqc4AsguJyWr4HWB9jcamPNL7DHE7NQU5b2zug47yqY5Qc4N3Pe1NDmK3npatH-sKuomT-DcSCg',
};
const GOLDEN_RSA_ACCEPT: HandshakeAccept = {
  v: 1,
  type: 'hs.accept',
  sid: 'BQUFBQUFBQUFBQUFBQUFBQ',
  from: '744f36cca67eb1912cb282e08e86bd2fe0d09004a28cf6e7c6bd56cdd6bf65aa',
  kind: 'ed25519',
  publicKey: 'MCowBQYDK2VwAyEAoJql9HpnWYAv-VX43C0qFKXJnSO-l_hkEn_5ODRVpPA',
  eph: null,
  wrapped:
    'HzbwKZDC_rRxHXIDh9dIajE9ZbQJouxjx5ugLQJpcidVBCRdyWg3SP6cDiobNRqo0Z_jvGV2aoxPSlIxO3sjwmtkTqowQaasJRLY8UOtVbBOt8LOaY5OCxjQFUaPeb0JGsd-XTin-8KbbWVCpkSqrZ0XBLJxSGkOcd4wsRPAd9bGxFfw1sht0OVMfzH2GFHIiXbfEa0DPOIy6J3BUgv-nXQ7_bfZPBlVBfRv950SN62NTjrjX97mVsxxxil0Lu2NXQsbPk82tG8Q24SnuzGixIhn-LhI0OMxpmr_q3SMBnIPHvULf07pHIck1pw0Jsm0nypajSzEEg_NTAjswcBALLVGziVtpPnl9yByQ2UcPaW_lsH9Cepz13ihAIZgvhbuOtrFu8iU7GVDY4hw9Y_xDn1O4PYRkA2BeNeYq3jGv7p6LjtM3RhPI1mmmDQdFnusuhqJ_KV9SCFy2bjbG_BJXktoNva5rKgtI0Yz_dlehLJ0JY8jaGfYmQ0af06DCXXo',
  nonce: 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc',
  ts: TS + 500,
  suite: 'rsaoaep-aes256gcm',
  auth: 'sRNO32GBC1w812OM4-qzFiuH3twAnH1iMv79Vk5FtkbaqKmqFI6KHJLDmT3lYuLq',
  sig: '6yvE6UXLHThZi0HAOYJ_wcYH3D052UI2UTktbb_w-SLD3Ei0zzGuJ883Tztm1r3IfCj0nnDwa9eImwiuorwjCA',
};
const GOLDEN_RSA = {
  th: 'e3b99c421b4d91249820cec5a45b44811e6b09a7f79a7a25be1fd39bbce5f5e5',
  keyId: 'b9d972a7b58c4e4b',
  sas: '76957 33848 22979 38120',
  chains: {
    requestsIR: '059290778e8752fe56d78bf4888be288f54ada6f1fbf50b89083c4b21c3afaed',
    requestsRI: 'e02b2d06d626fb6b9e11ea9960a5b629e9df8dfac31a2e2e56d93ab6827ea223',
    pushIR: 'ade681a53812f8522db016b8c3dedf09c419b93549b40251a51f9dc9b7ec524f',
    pushRI: '98fb9b876448e5ca13ae55be0d7b6574e335bc747184a5b5f3333e8dcc3f2009',
  },
};

const chainsHex = (c: Record<string, Buffer>) =>
  Object.fromEntries(Object.entries(c).map(([k, v]) => [k, hex(v)]));

describe('handshake known-answer vectors (A04)', () => {
  it('reproduces the frozen x25519 transcript and keys byte for byte on the responder', () => {
    const { offer, accept, keys } = goldenX25519();
    expect(offer.sig).toBe(GOLDEN_X25519.offerSig);
    expect(accept.eph).toBe(GOLDEN_X25519.acceptEph);
    expect(accept.auth).toBe(GOLDEN_X25519.auth);
    expect(accept.sig).toBe(GOLDEN_X25519.acceptSig);
    expect(hex(keys.th)).toBe(GOLDEN_X25519.th);
    expect(keys.keyId).toBe(GOLDEN_X25519.keyId);
    expect(keys.sas).toBe(GOLDEN_X25519.sas);
    expect(hex(keys.kConfirm)).toBe(GOLDEN_X25519.kConfirm);
    expect(chainsHex({ ...keys.chains })).toEqual(GOLDEN_X25519.chains);
    expect(hex(confirmMac(keys, 'i'))).toBe(GOLDEN_X25519.macI);
    expect(hex(confirmMac(keys, 'r'))).toBe(GOLDEN_X25519.macR);
  });

  it('derives the same frozen keys on the requester from the frozen messages', () => {
    const { offer, accept, ephI } = goldenX25519();
    const check = checkAccept(offer, accept, { eph: ephI });
    expect(check).toMatchObject({ identityMatches: true, signatureValid: true, authOpened: true });
    expect(hex(check.keys!.th)).toBe(GOLDEN_X25519.th);
    expect(check.keyId).toBe(GOLDEN_X25519.keyId);
    expect(check.sas).toBe(GOLDEN_X25519.sas);
    expect(chainsHex({ ...check.keys!.chains })).toEqual(GOLDEN_X25519.chains);
  });

  it('matches an independent derivation from the spec text with raw node:crypto', () => {
    const { offer, accept, ephI } = goldenX25519();
    const th = createHash('sha256')
      .update(encodeFields(TRANSCRIPT_DOMAIN, acceptTranscriptFields(offer, accept)))
      .digest();
    expect(hex(th)).toBe(GOLDEN_X25519.th);
    const dh = rawDh(ephI.privateKey, Buffer.from(accept.eph!, 'base64url'));
    const okm = Buffer.from(hkdfSync('sha256', dh, th, Labels.handshake, 64));
    expect(hex(okm.subarray(32))).toBe(GOLDEN_X25519.kConfirm);
    const root = Buffer.from(
      hkdfSync('sha256', Buffer.concat([dh, fixedBytes(32, 0x04)]), th, 'conclave/v1 session', 128),
    );
    expect(hex(root.subarray(0, 32))).toBe(GOLDEN_X25519.chains.requestsIR);
    expect(hex(root.subarray(96))).toBe(GOLDEN_X25519.chains.pushRI);
    const macI = createHmac('sha256', okm.subarray(32))
      .update('conclave/v1 confirm i')
      .update(th)
      .digest();
    expect(hex(macI)).toBe(GOLDEN_X25519.macI);
    expect(createHash('sha256').update(th).digest().subarray(0, 8).toString('hex')).toBe(
      GOLDEN_X25519.keyId,
    );
  });

  it('opens the frozen RSA transcript to the frozen keys with the fixed transport key', () => {
    const check = checkAccept(GOLDEN_RSA_OFFER, GOLDEN_RSA_ACCEPT, {
      rsaPrivateKey: rsa.privateKey,
    });
    expect(check).toMatchObject({ identityMatches: true, signatureValid: true, authOpened: true });
    expect(hex(check.keys!.th)).toBe(GOLDEN_RSA.th);
    expect(check.keyId).toBe(GOLDEN_RSA.keyId);
    expect(check.sas).toBe(GOLDEN_RSA.sas);
    expect(chainsHex({ ...check.keys!.chains })).toEqual(GOLDEN_RSA.chains);
    expect(checkOffer(GOLDEN_RSA_OFFER)).toMatchObject({
      identityMatches: true,
      signatureValid: true,
    });
  });
});

/** X25519 independent of src/crypto/x25519.ts: import via JWK, derive via diffieHellman. */
function rawDh(privateKey: KeyObject, peerRaw: Buffer): Buffer {
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: peerRaw.toString('base64url') },
    format: 'jwk',
  });
  return diffieHellman({ privateKey, publicKey });
}

describe('both sides agree', () => {
  it.each(['x25519-aes256gcm', 'rsaoaep-aes256gcm'] as const)(
    'derive identical chain keys, key id and SAS with %s (random inputs)',
    (suite) => {
      const ephI = generateX25519KeyPair();
      const offer = buildOffer({
        identity: alice,
        sid: randomBytes(16),
        nonce: randomBytes(32),
        ts: Date.now(),
        suites: ['x25519-aes256gcm', 'rsaoaep-aes256gcm'],
        to: null,
        ephPublic: ephI.publicKeyRaw,
        rsaKey: exportRsaTransportKey(rsa.publicKey),
      });
      const { accept, keys } = buildAccept({
        identity: bob,
        offer,
        suite,
        ts: Date.now(),
        nonce: randomBytes(32),
        sak: randomBytes(32),
        eph: generateX25519KeyPair(),
        rsaSecret: randomBytes(32),
      });
      const check = checkAccept(offer, accept, { eph: ephI, rsaPrivateKey: rsa.privateKey });
      expect(check.authOpened).toBe(true);
      const mine = chainsFor('requester', check.keys!.chains);
      const theirs = chainsFor('responder', keys.chains);
      expect(mine.sendRequests.equals(theirs.recvRequests)).toBe(true);
      expect(mine.recvRequests.equals(theirs.sendRequests)).toBe(true);
      expect(mine.sendPush.equals(theirs.recvPush)).toBe(true);
      expect(mine.recvPush.equals(theirs.sendPush)).toBe(true);
      expect(new Set(Object.values(mine).map(hex)).size).toBe(4);
      expect([check.keyId, check.sas]).toEqual([keys.keyId, keys.sas]);
      expect(verifyConfirmMac(keys, 'i', confirmMac(check.keys!, 'i').toString('base64url'))).toBe(
        true,
      );
      expect(verifyConfirmMac(check.keys!, 'r', confirmMac(keys, 'r').toString('base64url'))).toBe(
        true,
      );
    },
  );

  it('works with an RSA-PSS identity on either side', async () => {
    const rsaId = await generateIdentity('rsa');
    const ephI = generateX25519KeyPair();
    const offer = buildOffer({
      identity: rsaId,
      sid: randomBytes(16),
      nonce: randomBytes(32),
      ts: Date.now(),
      suites: ['x25519-aes256gcm'],
      to: null,
      ephPublic: ephI.publicKeyRaw,
    });
    expect(checkOffer(offer)).toMatchObject({ identityMatches: true, signatureValid: true });
    const { accept } = buildAccept({
      identity: rsaId,
      offer,
      suite: 'x25519-aes256gcm',
      ts: Date.now(),
      nonce: randomBytes(32),
      sak: randomBytes(32),
      eph: generateX25519KeyPair(),
    });
    expect(checkAccept(offer, accept, { eph: ephI }).authOpened).toBe(true);
  }, 30_000);
});

/** Flip one byte of a base64url field (at `at` of its decoded bytes). */
function flipB64(text: string, at: number): string {
  const bytes = Buffer.from(text, 'base64url');
  const i = ((at % bytes.length) + bytes.length) % bytes.length;
  bytes[i]! ^= 0x01;
  return bytes.toString('base64url');
}

/** Flip one character of a hex peer id. */
const flipHex = (text: string): string => (text[0] === 'a' ? 'b' : 'a') + text.slice(1);

describe('tampering (table-driven): any single changed byte fails verification', () => {
  const { offer, accept, ephI } = goldenX25519();
  const positions = [0, 7, -1];

  const offerMutations: Array<[string, (o: HandshakeOffer) => HandshakeOffer]> = [
    ...(['sid', 'publicKey', 'eph', 'rsaKey', 'nonce', 'sig'] as const).flatMap((field) =>
      positions.map((at): [string, (o: HandshakeOffer) => HandshakeOffer] => [
        `${field}[${at}]`,
        (o) => ({ ...o, [field]: flipB64(o[field]!, at) }),
      ]),
    ),
    ['from', (o) => ({ ...o, from: flipHex(o.from) })],
    ['to', (o) => ({ ...o, to: flipHex(o.to!) })],
    ['to removed', (o) => ({ ...o, to: null })],
    ['kind', (o) => ({ ...o, kind: 'rsa' })],
    ['ts', (o) => ({ ...o, ts: o.ts + 1 })],
    ['suites reordered', (o) => ({ ...o, suites: [...o.suites].reverse() })],
    ['suites shortened', (o) => ({ ...o, suites: ['x25519-aes256gcm'], rsaKey: null })],
  ];

  it.each(offerMutations)('offer %s', (_name, mutate) => {
    const check = checkOffer(mutate(offer));
    expect(check.identityMatches && check.signatureValid).toBe(false);
  });

  const acceptMutations: Array<[string, (a: HandshakeAccept) => HandshakeAccept]> = [
    ...(['sid', 'publicKey', 'eph', 'nonce', 'auth', 'sig'] as const).flatMap((field) =>
      positions.map((at): [string, (a: HandshakeAccept) => HandshakeAccept] => [
        `${field}[${at}]`,
        (a) => ({ ...a, [field]: flipB64(a[field]!, at) }),
      ]),
    ),
    ['from', (a) => ({ ...a, from: flipHex(a.from) })],
    ['kind', (a) => ({ ...a, kind: 'rsa' })],
    ['ts', (a) => ({ ...a, ts: a.ts - 1 })],
    ['suite', (a) => ({ ...a, suite: 'rsaoaep-aes256gcm', eph: null, wrapped: 'A'.repeat(512) })],
  ];

  it.each(acceptMutations)('accept %s', (_name, mutate) => {
    const check = checkAccept(offer, mutate(accept), { eph: ephI, rsaPrivateKey: rsa.privateKey });
    expect(check.authOpened).toBe(false);
    expect(check.keys).toBeUndefined();
  });

  it.each(offerMutations)('accept built for the offer fails against offer %s', (_name, mutate) => {
    // The transcript covers the whole signed offer: an accept for a changed offer never verifies.
    const check = checkAccept(mutate(offer), accept, { eph: ephI, rsaPrivateKey: rsa.privateKey });
    expect(check.signatureValid && check.authOpened).toBe(false);
  });

  it('rejects a confirm MAC of the wrong direction or of a flipped byte', () => {
    const { keys } = goldenX25519();
    const macI = confirmMac(keys, 'i').toString('base64url');
    expect(verifyConfirmMac(keys, 'i', macI)).toBe(true);
    expect(verifyConfirmMac(keys, 'r', macI)).toBe(false);
    expect(verifyConfirmMac(keys, 'i', flipB64(macI, 31))).toBe(false);
    expect(verifyConfirmMac(keys, 'i', 'short')).toBe(false);
  });
});

describe('unusable keys', () => {
  it('refuses to build an accept for a low-order requester ephemeral (ERR_WEAK_KEY)', () => {
    const { offer } = goldenX25519();
    const weak = { ...offer, eph: Buffer.alloc(32).toString('base64url') };
    expect(
      thrownCode(() =>
        buildAccept({
          identity: bob,
          offer: weak,
          suite: 'x25519-aes256gcm',
          ts: TS,
          nonce: randomBytes(32),
          sak: randomBytes(32),
          eph: generateX25519KeyPair(),
        }),
      ),
    ).toBe('ERR_WEAK_KEY');
  });

  it('does not open a validly signed accept whose ephemeral is low-order', () => {
    const { offer, ephI } = goldenX25519();
    const real = generateX25519KeyPair();
    const { accept } = buildAccept({
      identity: bob,
      offer,
      suite: 'x25519-aes256gcm',
      ts: TS,
      nonce: randomBytes(32),
      sak: randomBytes(32),
      eph: { ...real, publicKeyRaw: Buffer.alloc(32) },
    });
    expect(checkAccept(offer, accept, { eph: ephI })).toMatchObject({
      signatureValid: true,
      authOpened: false,
    });
  });

  it('refuses an RSA-PSS or small key as a transport key', () => {
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 3072 }).publicKey;
    const small = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const spki = (k: typeof pss) => k.export({ type: 'spki', format: 'der' }).toString('base64url');
    expect(thrownCode(() => importRsaTransportKey(spki(pss)))).toBe('ERR_CRYPTO_INPUT');
    expect(thrownCode(() => importRsaTransportKey(spki(small)))).toBe('ERR_WEAK_KEY');
    expect(thrownCode(() => importRsaTransportKey('AAAA'))).toBe('ERR_CRYPTO_INPUT');
  }, 30_000);

  it('refuses to build an offer whose key material does not fit its suites', () => {
    expect(
      thrownCode(() =>
        buildOffer({
          identity: alice,
          sid: randomBytes(16),
          nonce: randomBytes(32),
          ts: TS,
          suites: ['x25519-aes256gcm'],
          to: null,
        }),
      ),
    ).toBe('ERR_INVALID_ARGUMENT');
  });
});
