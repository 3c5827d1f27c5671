import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  aadTemplate,
  deriveRekeyEpoch,
  destroyEpoch,
  epochFromMaterial,
  sealedAad,
  SEALED_AAD_DOMAIN,
} from '../../../src/actors/session/epoch-keys.js';
import { encodeFields } from '../../../src/crypto/index.js';
import { fakeHandshake } from './support.js';

const isZero = (b: Uint8Array) => b.every((x) => x === 0);

describe('sealed AAD', () => {
  it('is encodeFields over [sid, epoch, channel, direction, seq]', () => {
    expect(sealedAad('sid-12345', 2, 'push', 'r2i', 9)).toEqual(
      encodeFields(SEALED_AAD_DOMAIN, ['sid-12345', 2, 'push', 'r2i', 9]),
    );
  });

  it('the hot-path template produces the same bytes for every seq', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.constantFrom('requests' as const, 'responses' as const, 'push' as const),
        fc.constantFrom('i2r' as const, 'r2i' as const),
        (seq, epoch, channel, direction) => {
          const template = aadTemplate('c2lkLXNpZC1zaWQ', epoch, channel, direction);
          template.at(12345); // a previous use leaves no trace
          return template
            .at(seq)
            .equals(sealedAad('c2lkLXNpZC1zaWQ', epoch, channel, direction, seq));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('epoch keys', () => {
  it('derives the same epoch-0 root on both sides, and different roots per handshake', () => {
    const hs = fakeHandshake();
    const a = epochFromMaterial(hs.requester(), {});
    const b = epochFromMaterial(hs.responder(), {});
    expect(a.root!.equals(b.root!)).toBe(true);
    const other = epochFromMaterial(fakeHandshake().requester(), {});
    expect(a.root!.equals(other.root!)).toBe(false);
  });

  it('gives both sides matching chains after a re-key, bound to the ephemeral keys', () => {
    const hs = fakeHandshake();
    const base = epochFromMaterial(hs.requester(), {});
    const shared = randomBytes(32);
    const ephI = randomBytes(32);
    const ephR = randomBytes(32);
    const common = { sid: hs.sid, epoch: 1, initiator: 'requester' as const, shared, limits: {} };
    const mine = deriveRekeyEpoch({
      ...common,
      role: 'requester',
      ephInitiator: ephI,
      ephResponder: ephR,
      root: base.root!,
    });
    const theirs = deriveRekeyEpoch({
      ...common,
      role: 'responder',
      ephInitiator: ephI,
      ephResponder: ephR,
      root: base.root!,
    });
    expect(mine.keyId).toBe(theirs.keyId);
    expect(mine.root!.equals(theirs.root!)).toBe(true);
    const sent = mine.send!.requests.next();
    const found = theirs.recv.requests.lookup(0);
    expect(found.ok && found.key.equals(sent.key)).toBe(true);
    const swapped = deriveRekeyEpoch({
      ...common,
      role: 'responder',
      ephInitiator: ephR,
      ephResponder: ephI,
      root: base.root!,
    });
    expect(swapped.keyId).not.toBe(mine.keyId);
  });

  it('wipes its root, stored message keys and response keys when destroyed', () => {
    const hs = fakeHandshake();
    const e = epochFromMaterial(hs.requester(), {});
    const root = e.root!;
    const stored = e.recv.requests.lookup(5);
    const pushStored = e.recv.push.lookup(2);
    const pending = e.send!.requests.next().key;
    e.pending.set(0, pending);
    const owedFound = e.recv.requests.lookup(0);
    if (!stored.ok || !pushStored.ok || !owedFound.ok) throw new Error('lookup failed');
    const owed = e.recv.requests.accept(0);
    e.owed.set(0, owed);
    destroyEpoch(e);
    for (const key of [root, stored.key, pushStored.key, pending, owed]) {
      expect(isZero(key)).toBe(true);
    }
    expect(e.send).toBeUndefined();
    expect(e.recv.requests.isDestroyed).toBe(true);
  });
});
