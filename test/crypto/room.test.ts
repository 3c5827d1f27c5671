import { describe, expect, it } from 'vitest';
import type { AeadSuite } from '../../src/crypto/aead-types.js';
import { generateIdentity, type Identity } from '../../src/crypto/identity.js';
import { fillRandomNonce, gcmSeal } from '../../src/crypto/aead.js';
import { encodeFields } from '../../src/crypto/bytes.js';
import { Labels } from '../../src/crypto/hkdf.js';
import {
  createMessageCipher,
  messageAad,
  senderMessageKey,
  signMessage,
  verifyMessage,
  type MessageHeader,
} from '../../src/crypto/room.js';
import {
  signMessages,
  verifyBatchedMessage,
  MAX_SIGN_BATCH,
  type BatchProof,
} from '../../src/crypto/room-batch-sign.js';
import {
  hashRoomPassword,
  inviteTokenHash,
  newInviteToken,
  verifyRoomPassword,
} from '../../src/crypto/room-credentials.js';
import {
  createEpochKeyWrapper,
  generateMemberKek,
  generateRoomKey,
  ROOM_KEY_LENGTH,
  unwrapEpochKey,
  wrapEpochKey,
} from '../../src/crypto/room-epoch-key.js';

const ROOM = 'room_0123456789abcdef';
const OTHER_ROOM = 'room_fedcba9876543210';
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const SUITES: readonly AeadSuite[] = ['aes-256-gcm', 'aes-256-cbc-hmac-sha256'];

const thrownCode = (fn: () => unknown): string => {
  try {
    fn();
    return 'none';
  } catch (e) {
    return (e as { code?: string }).code ?? 'uncoded';
  }
};

const flipped = (buf: Uint8Array, at: number): Buffer => {
  const copy = Buffer.from(buf);
  copy[at] = (copy[at] as number) ^ 0x01;
  return copy;
};

const headerOf = (overrides: Partial<MessageHeader> = {}): MessageHeader => ({
  roomId: ROOM,
  epoch: 3,
  sender: A,
  id: 'msg-00000001',
  sentAt: '2030-01-01T00:00:00.000Z',
  suite: 'aes-256-gcm',
  ...overrides,
});

/** Each header field of a `suite` message changed to another valid value. */
const changesFor = (
  suite: AeadSuite = 'aes-256-gcm',
): Record<keyof MessageHeader, Partial<MessageHeader>> => ({
  roomId: { roomId: OTHER_ROOM },
  epoch: { epoch: 4 },
  sender: { sender: B },
  id: { id: 'msg-00000002' },
  sentAt: { sentAt: '2030-01-01T00:00:00.001Z' },
  suite: { suite: suite === 'aes-256-gcm' ? 'aes-256-cbc-hmac-sha256' : 'aes-256-gcm' },
});
const headerChanges = changesFor();

describe('epoch key wrapping', () => {
  const kek = generateMemberKek();
  const epochKey = generateRoomKey();
  const wrapped = wrapEpochKey(kek, ROOM, 3, A, epochKey);

  it('makes 32-byte keys', () => {
    expect(epochKey).toHaveLength(ROOM_KEY_LENGTH);
    expect(kek).toHaveLength(ROOM_KEY_LENGTH);
    expect(generateRoomKey().equals(epochKey)).toBe(false);
  });

  it('round-trips an epoch key to its member', () => {
    expect(unwrapEpochKey(kek, ROOM, 3, A, wrapped).equals(epochKey)).toBe(true);
  });

  it('does not contain the key in the clear', () => {
    expect(wrapped.includes(epochKey)).toBe(false);
  });

  it('fails with ERR_DECRYPT_FAILED for another member, room, epoch or KEK', () => {
    expect(thrownCode(() => unwrapEpochKey(kek, ROOM, 3, B, wrapped))).toBe('ERR_DECRYPT_FAILED');
    expect(thrownCode(() => unwrapEpochKey(kek, OTHER_ROOM, 3, A, wrapped))).toBe(
      'ERR_DECRYPT_FAILED',
    );
    expect(thrownCode(() => unwrapEpochKey(kek, ROOM, 4, A, wrapped))).toBe('ERR_DECRYPT_FAILED');
    expect(thrownCode(() => unwrapEpochKey(generateMemberKek(), ROOM, 3, A, wrapped))).toBe(
      'ERR_DECRYPT_FAILED',
    );
  });

  it('fails with ERR_DECRYPT_FAILED when any byte is flipped', () => {
    for (let at = 0; at < wrapped.length; at++) {
      expect(
        thrownCode(() => unwrapEpochKey(kek, ROOM, 3, A, flipped(wrapped, at))),
        `byte ${at}`,
      ).toBe('ERR_DECRYPT_FAILED');
    }
  });

  it('fails with ERR_DECRYPT_FAILED when truncated or extended', () => {
    for (const bad of [
      wrapped.subarray(0, wrapped.length - 1),
      wrapped.subarray(0, 10),
      Buffer.alloc(0),
      Buffer.concat([wrapped, Buffer.of(0)]),
    ]) {
      expect(thrownCode(() => unwrapEpochKey(kek, ROOM, 3, A, bad))).toBe('ERR_DECRYPT_FAILED');
    }
  });

  it('refuses to wrap, or unwrap, something that is not a 32-byte key', () => {
    expect(thrownCode(() => wrapEpochKey(kek, ROOM, 3, A, Buffer.alloc(16, 7)))).toBe(
      'ERR_CRYPTO_INPUT',
    );
    // A 16-byte key wrapped by hand with the same layout (nonce ‖ ct ‖ tag) does not unwrap.
    const nonce = Buffer.alloc(12, 1);
    const aad = encodeFields(Labels.roomKeyWrap, [ROOM, 3, A]);
    const short = Buffer.concat([nonce, gcmSeal(kek, nonce, Buffer.alloc(16, 7), aad)]);
    expect(thrownCode(() => unwrapEpochKey(kek, ROOM, 3, A, short))).toBe('ERR_DECRYPT_FAILED');
  });

  it('wraps many members with one wrapper exactly as wrapEpochKey does', () => {
    const wrapTo = createEpochKeyWrapper(ROOM, 3, epochKey);
    const members = [A, 'b'.repeat(64), 'ünïcode-peer', ''];
    const seen = new Set<string>();
    for (const m of members) {
      const w = wrapTo(kek, m);
      expect(w.length).toBe(60);
      seen.add(w.subarray(0, 12).toString('hex'));
      expect(unwrapEpochKey(kek, ROOM, 3, m, w).equals(epochKey)).toBe(true);
      const other = members.find((x) => x !== m) ?? A;
      expect(thrownCode(() => unwrapEpochKey(kek, ROOM, 3, other, w))).toBe('ERR_DECRYPT_FAILED');
    }
    expect(seen.size).toBe(members.length);
    expect(thrownCode(() => wrapTo(kek, 'lone \ud800 surrogate'))).toBe('ERR_INVALID_ARGUMENT');
    expect(thrownCode(() => wrapTo(Buffer.alloc(16), A))).toBe('ERR_CRYPTO_INPUT');
  });

  it('never hands out the same pooled nonce twice across pool refills', () => {
    const nonces = new Set<string>();
    const out = Buffer.alloc(12);
    for (let i = 0; i < 1000; i++) {
      fillRandomNonce(out);
      nonces.add(out.toString('hex'));
    }
    expect(nonces.size).toBe(1000);
  });

  it('uses a fresh nonce per wrap', () => {
    const again = wrapEpochKey(kek, ROOM, 3, A, epochKey);
    expect(again.equals(wrapped)).toBe(false);
    expect(unwrapEpochKey(kek, ROOM, 3, A, again).equals(epochKey)).toBe(true);
  });
});

describe('message cipher', () => {
  const epochKey = generateRoomKey();
  const plaintext = Buffer.from('{"text":"the quick brown fox jumps over the lazy dog"}');

  for (const suite of SUITES) {
    describe(suite, () => {
      const h = headerOf({ suite });
      const headerChanges = changesFor(suite);
      const cipher = createMessageCipher(epochKey, ROOM, 3, A, suite);
      const sealed = cipher.seal(h, plaintext);

      it('round-trips a message, also through another cipher instance of the same sender', () => {
        expect(cipher.open(h, sealed).equals(plaintext)).toBe(true);
        const other = createMessageCipher(epochKey, ROOM, 3, A, suite);
        expect(other.open(h, sealed).equals(plaintext)).toBe(true);
        other.destroy();
      });

      it('round-trips an empty message and a large one', () => {
        for (const p of [Buffer.alloc(0), Buffer.alloc(10_000, 0x61)]) {
          expect(cipher.open(h, cipher.seal(h, p)).equals(p)).toBe(true);
        }
      });

      for (const [field, change] of Object.entries(headerChanges)) {
        it(`fails to open when the header's ${field} changes`, () => {
          expect(thrownCode(() => cipher.open({ ...h, ...change }, sealed))).toBe(
            'ERR_DECRYPT_FAILED',
          );
        });
      }

      it('fails to open when the header changes, even with a cipher built for that header', () => {
        // The cipher's own header check is the first wall; the key derivation and AAD are the
        // second: a cipher made for the other room/epoch/sender/suite does not open it either.
        for (const [field, change] of Object.entries(headerChanges)) {
          const moved = { ...h, ...change };
          const c = createMessageCipher(
            epochKey,
            moved.roomId,
            moved.epoch,
            moved.sender,
            moved.suite,
          );
          expect(
            thrownCode(() => c.open(moved, sealed)),
            field,
          ).toBe('ERR_DECRYPT_FAILED');
          c.destroy();
        }
      });

      it('fails to open when any ciphertext byte is flipped', () => {
        for (let at = 0; at < sealed.length; at++) {
          expect(
            thrownCode(() => cipher.open(h, flipped(sealed, at))),
            `byte ${at}`,
          ).toBe('ERR_DECRYPT_FAILED');
        }
      });

      it('fails to open a truncated ciphertext', () => {
        for (const n of [0, 1, 16, sealed.length - 1]) {
          expect(thrownCode(() => cipher.open(h, sealed.subarray(0, n)))).toBe(
            'ERR_DECRYPT_FAILED',
          );
        }
      });

      it("cannot open another sender's message (each sender has its own key)", () => {
        const bCipher = createMessageCipher(epochKey, ROOM, 3, B, suite);
        const bHeader = headerOf({ suite, sender: B });
        const bSealed = bCipher.seal(bHeader, plaintext);
        // A's cipher refuses B's header outright; a header relabelled as A's does not open.
        expect(thrownCode(() => cipher.open(bHeader, bSealed))).toBe('ERR_DECRYPT_FAILED');
        expect(thrownCode(() => cipher.open(h, bSealed))).toBe('ERR_DECRYPT_FAILED');
        expect(thrownCode(() => bCipher.open(bHeader, sealed))).toBe('ERR_DECRYPT_FAILED');
        bCipher.destroy();
      });

      it('refuses to seal under a header that is not its own', () => {
        for (const change of [headerChanges.roomId, headerChanges.epoch, headerChanges.sender]) {
          expect(thrownCode(() => cipher.seal({ ...h, ...change }, plaintext))).toBe(
            'ERR_DECRYPT_FAILED',
          );
        }
      });

      it('does not open under another epoch key', () => {
        const c = createMessageCipher(generateRoomKey(), ROOM, 3, A, suite);
        expect(thrownCode(() => c.open(h, sealed))).toBe('ERR_DECRYPT_FAILED');
        c.destroy();
      });
    });
  }

  it('derives distinct keys per sender, epoch and room', () => {
    const keys = [
      senderMessageKey(epochKey, ROOM, 3, A),
      senderMessageKey(epochKey, ROOM, 3, B),
      senderMessageKey(epochKey, ROOM, 4, A),
      senderMessageKey(epochKey, OTHER_ROOM, 3, A),
      epochKey,
    ].map((k) => k.toString('hex'));
    expect(new Set(keys).size).toBe(keys.length);
    expect(
      senderMessageKey(epochKey, ROOM, 3, A).equals(senderMessageKey(epochKey, ROOM, 3, A)),
    ).toBe(true);
  });

  it('binds every header field into the AAD', () => {
    const base = messageAad(headerOf()).toString('hex');
    for (const [field, change] of Object.entries(headerChanges)) {
      expect(messageAad(headerOf(change)).toString('hex'), field).not.toBe(base);
    }
  });

  it('never repeats a GCM nonce across 10 000 seals', () => {
    const c = createMessageCipher(epochKey, ROOM, 3, A, 'aes-256-gcm');
    const other = createMessageCipher(epochKey, ROOM, 3, A, 'aes-256-gcm');
    const h = headerOf();
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const sealed = c.seal(h, plaintext);
      expect(sealed[0]).toBe(0x01);
      seen.add(sealed.subarray(1, 13).toString('hex'));
    }
    // A second cipher for the same sender (a restart) starts from another random prefix.
    for (let i = 0; i < 100; i++)
      seen.add(other.seal(h, plaintext).subarray(1, 13).toString('hex'));
    expect(seen.size).toBe(10_100);
    c.destroy();
    other.destroy();
  });

  it('never repeats a CBC IV across 10 000 seals', () => {
    const h = headerOf({ suite: 'aes-256-cbc-hmac-sha256' });
    const c = createMessageCipher(epochKey, ROOM, 3, A, 'aes-256-cbc-hmac-sha256');
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const sealed = c.seal(h, plaintext);
      expect(sealed[0]).toBe(0x02);
      seen.add(sealed.subarray(1, 17).toString('hex'));
    }
    expect(seen.size).toBe(10_000);
    c.destroy();
  });

  it('cannot be used after destroy', () => {
    const c = createMessageCipher(epochKey, ROOM, 3, A, 'aes-256-gcm');
    const h = headerOf();
    const sealed = c.seal(h, plaintext);
    c.destroy();
    expect(thrownCode(() => c.seal(h, plaintext))).not.toBe('none');
    expect(thrownCode(() => c.open(h, sealed))).not.toBe('none');
  });
});

describe('message signatures', () => {
  let ed: Identity;
  let other: Identity;
  const ct = Buffer.from('sealed-ciphertext-bytes-0123456789');
  const h = headerOf();

  it('verifies the sender signature over header and ciphertext', async () => {
    [ed, other] = await Promise.all([generateIdentity('ed25519'), generateIdentity('ed25519')]);
    const sig = signMessage(ed.privateKey, h, ct);
    expect(verifyMessage(ed.publicKey, h, ct, sig)).toBe(true);
  });

  it('fails for any changed header field', () => {
    const sig = signMessage(ed.privateKey, h, ct);
    for (const [field, change] of Object.entries(headerChanges)) {
      expect(verifyMessage(ed.publicKey, { ...h, ...change }, ct, sig), field).toBe(false);
    }
  });

  it('fails for any changed ciphertext or signature byte', () => {
    const sig = signMessage(ed.privateKey, h, ct);
    for (let at = 0; at < ct.length; at++) {
      expect(verifyMessage(ed.publicKey, h, flipped(ct, at), sig), `ct ${at}`).toBe(false);
    }
    for (let at = 0; at < sig.length; at++) {
      expect(verifyMessage(ed.publicKey, h, ct, flipped(sig, at)), `sig ${at}`).toBe(false);
    }
    expect(verifyMessage(ed.publicKey, h, ct.subarray(1), sig)).toBe(false);
    expect(verifyMessage(ed.publicKey, h, ct, sig.subarray(1))).toBe(false);
    expect(verifyMessage(ed.publicKey, h, ct, Buffer.alloc(0))).toBe(false);
  });

  it("fails under another member's key, and never throws on garbage", () => {
    const sig = signMessage(ed.privateKey, h, ct);
    expect(verifyMessage(other.publicKey, h, ct, sig)).toBe(false);
    expect(verifyMessage(ed.publicKey, h, ct, Buffer.alloc(64))).toBe(false);
    expect(verifyMessage(ed.publicKey, h, ct, Buffer.alloc(1000, 1))).toBe(false);
  });

  it('signs and verifies with an RSA-PSS identity', { timeout: 60_000 }, async () => {
    const rsa = await generateIdentity('rsa');
    const sig = signMessage(rsa.privateKey, h, ct);
    expect(sig).toHaveLength(384);
    expect(verifyMessage(rsa.publicKey, h, ct, sig)).toBe(true);
    expect(verifyMessage(rsa.publicKey, { ...h, id: 'msg-00000002' }, ct, sig)).toBe(false);
    expect(verifyMessage(rsa.publicKey, h, flipped(ct, 0), sig)).toBe(false);
    expect(verifyMessage(rsa.publicKey, h, ct, flipped(sig, 100))).toBe(false);
    expect(verifyMessage(ed.publicKey, h, ct, sig)).toBe(false);
  });
});

describe('batched message signatures', () => {
  let ed: Identity;
  let other: Identity;
  const batchOf = (n: number, overrides: Partial<MessageHeader> = {}) =>
    Array.from({ length: n }, (_, i) => ({
      header: headerOf({ id: `msg-${String(i).padStart(8, '0')}`, ...overrides }),
      ct: Buffer.from(`ciphertext number ${i} of ${n}, sealed`),
    }));

  it('one signature vouches for each of up to MAX_SIGN_BATCH messages, each checked alone', async () => {
    [ed, other] = await Promise.all([generateIdentity('ed25519'), generateIdentity('ed25519')]);
    for (const n of [2, 3, 5, 8, 17, MAX_SIGN_BATCH]) {
      const items = batchOf(n);
      const signed = signMessages(ed.privateKey, items);
      expect(new Set(signed.map((x) => x.sig.toString('hex'))).size).toBe(1);
      items.forEach((it, i) => {
        const s = signed[i] as { sig: Buffer; batch?: BatchProof };
        expect(s.batch).toMatchObject({ i, n });
        expect(
          verifyBatchedMessage(ed.publicKey, it.header, it.ct, s.sig, s.batch),
          `${n}/${i}`,
        ).toBe(true);
      });
    }
  });

  it('signs one message as signMessage does (no proof)', () => {
    const [it1] = batchOf(1);
    const [s] = signMessages(ed.privateKey, batchOf(1));
    expect(s?.batch).toBeUndefined();
    expect(verifyMessage(ed.publicKey, it1!.header, it1!.ct, s!.sig)).toBe(true);
    expect(signMessages(ed.privateKey, [])).toEqual([]);
  });

  it('a proof moved to another message, position, size, room, epoch or sender does not verify', () => {
    const items = batchOf(6);
    const signed = signMessages(ed.privateKey, items);
    const s2 = signed[4] as { sig: Buffer; batch: BatchProof };
    const it2 = items[4] as (typeof items)[number];
    const ok = (h: MessageHeader, ct: Buffer, b: BatchProof, sig = s2.sig, pk = ed.publicKey) =>
      verifyBatchedMessage(pk, h, ct, sig, b);
    expect(ok(it2.header, it2.ct, s2.batch)).toBe(true);
    // another message of the batch with this one's proof
    expect(ok(items[3]!.header, items[3]!.ct, s2.batch)).toBe(false);
    // any header field or ciphertext byte changed
    for (const [field, change] of Object.entries(headerChanges))
      expect(ok({ ...it2.header, ...change }, it2.ct, s2.batch), field).toBe(false);
    expect(ok(it2.header, flipped(it2.ct, 3), s2.batch)).toBe(false);
    // position and size
    expect(ok(it2.header, it2.ct, { ...s2.batch, i: 5 })).toBe(false);
    expect(ok(it2.header, it2.ct, { ...s2.batch, n: 7 })).toBe(false);
    expect(ok(it2.header, it2.ct, { ...s2.batch, n: 1 })).toBe(false);
    expect(ok(it2.header, it2.ct, { ...s2.batch, n: MAX_SIGN_BATCH + 1 })).toBe(false);
    // path bytes
    const path = Buffer.from(s2.batch.path, 'base64url');
    expect(
      ok(it2.header, it2.ct, { ...s2.batch, path: flipped(path, 5).toString('base64url') }),
    ).toBe(false);
    expect(
      ok(it2.header, it2.ct, { ...s2.batch, path: path.subarray(32).toString('base64url') }),
    ).toBe(false);
    expect(ok(it2.header, it2.ct, { ...s2.batch, path: 'not*base64' })).toBe(false);
    // the signature, and another member's key
    expect(ok(it2.header, it2.ct, s2.batch, flipped(s2.sig, 0))).toBe(false);
    expect(ok(it2.header, it2.ct, s2.batch, s2.sig, other.publicKey)).toBe(false);
    // a batch signature is not a message signature, nor the other way round
    expect(verifyMessage(ed.publicKey, it2.header, it2.ct, s2.sig)).toBe(false);
    const single = signMessage(ed.privateKey, it2.header, it2.ct);
    expect(ok(it2.header, it2.ct, s2.batch, single)).toBe(false);
  });

  it('with a root cache, checks the batch signature once and lets nothing past it that it did not check', () => {
    const items = batchOf(8);
    const signed = signMessages(ed.privateKey, items);
    const seen = new Set<string>();
    const cache = { has: (id: string) => seen.has(id), add: (id: string) => void seen.add(id) };
    items.forEach((it, i) => {
      const s = signed[i] as { sig: Buffer; batch: BatchProof };
      expect(verifyBatchedMessage(ed.publicKey, it.header, it.ct, s.sig, s.batch, cache)).toBe(
        true,
      );
    });
    expect(seen.size).toBe(1); // one root, checked once
    const s3 = signed[3] as { sig: Buffer; batch: BatchProof };
    const it3 = items[3] as (typeof items)[number];
    // the cached root does not vouch for another signature, another key's sender, or a changed leaf
    expect(
      verifyBatchedMessage(ed.publicKey, it3.header, it3.ct, flipped(s3.sig, 1), s3.batch, cache),
    ).toBe(false);
    expect(
      verifyBatchedMessage(
        ed.publicKey,
        { ...it3.header, sender: B },
        it3.ct,
        s3.sig,
        s3.batch,
        cache,
      ),
    ).toBe(false);
    expect(
      verifyBatchedMessage(ed.publicKey, it3.header, flipped(it3.ct, 0), s3.sig, s3.batch, cache),
    ).toBe(false);
    expect(seen.size).toBe(1);
  });

  it('another member cannot make a root that vouches for a message it did not sign', () => {
    // bob signs a batch holding a message that claims to be alice's: the sender field is bound
    // into every leaf and into the signed fields, so it verifies under neither key.
    const forged = batchOf(2, { sender: B });
    forged[1] = { header: headerOf({ id: 'msg-forged01' }), ct: Buffer.from('claims alice') };
    expect(() => signMessages(other.privateKey, forged)).toThrow(/one sender/);
    const bobs = batchOf(2, { sender: B });
    const [s0] = signMessages(other.privateKey, bobs);
    const asAlice = { ...bobs[0]!.header, sender: A };
    expect(verifyBatchedMessage(ed.publicKey, asAlice, bobs[0]!.ct, s0!.sig, s0!.batch)).toBe(
      false,
    );
    expect(verifyBatchedMessage(other.publicKey, asAlice, bobs[0]!.ct, s0!.sig, s0!.batch)).toBe(
      false,
    );
  });

  it('refuses batches it cannot sign: over MAX_SIGN_BATCH, or mixing rooms or epochs', () => {
    expect(thrownCode(() => signMessages(ed.privateKey, batchOf(MAX_SIGN_BATCH + 1)))).toBe(
      'ERR_INVALID_ARGUMENT',
    );
    const mixed = [...batchOf(1), ...batchOf(1, { epoch: 4 })];
    expect(thrownCode(() => signMessages(ed.privateKey, mixed))).toBe('ERR_INVALID_ARGUMENT');
    const rooms = [...batchOf(1), ...batchOf(1, { roomId: OTHER_ROOM })];
    expect(thrownCode(() => signMessages(ed.privateKey, rooms))).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('room passwords', () => {
  let stored: string;

  it('verifies the right password and refuses a wrong one', async () => {
    stored = await hashRoomPassword('correct horse battery staple');
    expect(stored.startsWith('scrypt$15$8$1$')).toBe(true);
    expect(stored).not.toContain('correct');
    await expect(verifyRoomPassword('correct horse battery staple', stored)).resolves.toBe(true);
    await expect(verifyRoomPassword('correct horse battery stapl', stored)).resolves.toBe(false);
    await expect(verifyRoomPassword('', stored)).resolves.toBe(false);
  });

  it('uses a different salt for every hash', async () => {
    const again = await hashRoomPassword('correct horse battery staple');
    expect(again).not.toBe(stored);
    expect(again.split('$')[4]).not.toBe(stored.split('$')[4]);
    await expect(verifyRoomPassword('correct horse battery staple', again)).resolves.toBe(true);
  });

  it('returns false, never throws, for malformed stored strings', async () => {
    const [, , , , salt = '', hash = ''] = stored.split('$');
    const malformed = [
      '',
      'scrypt',
      'hunter2',
      `bcrypt$15$8$1$${salt}$${hash}`,
      `scrypt$15$8$1$${salt}`,
      `scrypt$15$8$1$${salt}$${hash}$`,
      `scrypt$x$8$1$${salt}$${hash}`,
      `scrypt$15$0$1$${salt}$${hash}`,
      `scrypt$15$8$-1$${salt}$${hash}`,
      `scrypt$15$8$1.5$${salt}$${hash}`,
      `scrypt$9$8$1$${salt}$${hash}`,
      `scrypt$21$8$1$${salt}$${hash}`,
      `scrypt$15$99999999$1$${salt}$${hash}`,
      `scrypt$15$8$1$!!!$${hash}`,
      `scrypt$15$8$1$${salt}$***`,
      `scrypt$15$8$1$${salt}$`,
      `scrypt$15$8$1$${salt}$${hash.slice(0, -2)}`,
      `scrypt$14$8$1$${salt}$${hash}`,
    ];
    for (const bad of malformed) {
      await expect(verifyRoomPassword('correct horse battery staple', bad), bad).resolves.toBe(
        false,
      );
    }
  });

  it('normalizes to NFC: a composed and a decomposed é are the same password', async () => {
    const composed = 'caf\u00e9';
    const decomposed = 'cafe\u0301';
    expect(composed).not.toBe(decomposed);
    const h1 = await hashRoomPassword(composed);
    await expect(verifyRoomPassword(decomposed, h1)).resolves.toBe(true);
    const h2 = await hashRoomPassword(decomposed);
    await expect(verifyRoomPassword(composed, h2)).resolves.toBe(true);
    await expect(verifyRoomPassword('cafe', h1)).resolves.toBe(false);
  });
});

describe('invite tokens', () => {
  it('hashes a token stably, to 64 hex digits, never to the token itself', () => {
    const { token, hash } = newInviteToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(inviteTokenHash(token)).toBe(hash);
    expect(inviteTokenHash(token)).toBe(inviteTokenHash(token));
    expect(hash).not.toContain(token);
  });

  it('gives distinct tokens distinct hashes', () => {
    const tokens = new Set<string>();
    const hashes = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const t = newInviteToken();
      tokens.add(t.token);
      hashes.add(t.hash);
    }
    expect(tokens.size).toBe(1_000);
    expect(hashes.size).toBe(1_000);
    expect(inviteTokenHash('abcdefghijklmnop')).not.toBe(inviteTokenHash('abcdefghijklmnoq'));
  });
});
