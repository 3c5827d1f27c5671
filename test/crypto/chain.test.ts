import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createReceivingChain,
  createSendingChain,
  MAX_SKIP,
  ratchetStep,
  REPLAY_WINDOW,
  type ReceivingChain,
} from '../../src/crypto/chain.js';
import { thrownCode } from './wycheproof.js';

const hmac = (key: Buffer, byte: number) =>
  createHmac('sha256', key).update(Buffer.of(byte)).digest();

/** The first `n` message keys of a chain, computed independently of chain.ts. */
function referenceKeys(ck0: Buffer, n: number): Buffer[] {
  const keys: Buffer[] = [];
  let ck = ck0;
  for (let i = 0; i < n; i++) {
    keys.push(hmac(ck, 0x01));
    ck = hmac(ck, 0x02);
  }
  return keys;
}

const isZero = (b: Buffer) => b.every((x) => x === 0);

/** Receive `seq` as the session would: look up, "authenticate", accept. */
function receive(chain: ReceivingChain, seq: number): Buffer | string {
  const found = chain.lookup(seq);
  if (!found.ok) return found.reason;
  const copy = Buffer.from(found.key);
  chain.accept(seq).fill(0);
  return copy;
}

describe('ratchetStep', () => {
  it('derives mk = HMAC(ck, 0x01) and ck′ = HMAC(ck, 0x02)', () => {
    const ck = randomBytes(32);
    const { messageKey, nextChainKey } = ratchetStep(ck);
    expect(messageKey.equals(hmac(ck, 0x01))).toBe(true);
    expect(nextChainKey.equals(hmac(ck, 0x02))).toBe(true);
  });
});

describe('createSendingChain', () => {
  it('hands out seqs 0, 1, 2 … with the reference keys', () => {
    const ck = randomBytes(32);
    const expected = referenceKeys(ck, 5);
    const chain = createSendingChain(Buffer.from(ck));
    for (let i = 0; i < 5; i++) {
      const { seq, key } = chain.next();
      expect(seq).toBe(i);
      expect(key.equals(expected[i]!)).toBe(true);
    }
    expect(chain.nextSeq).toBe(5);
  });

  it('takes the chain key: the caller’s buffer is wiped', () => {
    const ck = randomBytes(32);
    createSendingChain(ck);
    expect(isZero(ck)).toBe(true);
  });

  it('refuses to seal past its limit with ERR_NONCE_EXHAUSTED', () => {
    const chain = createSendingChain(randomBytes(32), { limit: 3 });
    chain.next();
    chain.next();
    chain.next();
    expect(chain.remaining).toBe(0);
    expect(thrownCode(() => chain.next())).toBe('ERR_NONCE_EXHAUSTED');
  });

  it('refuses keys that are not 32 bytes, and use after destroy', () => {
    expect(thrownCode(() => createSendingChain(randomBytes(16)))).toBe('ERR_CRYPTO_INPUT');
    const chain = createSendingChain(randomBytes(32));
    chain.destroy();
    expect(chain.isDestroyed).toBe(true);
    expect(thrownCode(() => chain.next())).toBe('ERR_CRYPTO_INPUT');
  });
});

describe('createReceivingChain', () => {
  it('opens in order with the sender’s keys, and refuses each seq the second time', () => {
    const ck = randomBytes(32);
    const expected = referenceKeys(ck, 4);
    const chain = createReceivingChain(Buffer.from(ck));
    for (let i = 0; i < 4; i++) {
      expect((receive(chain, i) as Buffer).equals(expected[i]!)).toBe(true);
      expect(receive(chain, i)).toBe('replayed');
    }
    expect(chain.highestSeq).toBe(3);
    expect(chain.storedKeys).toBe(0);
  });

  it('opens out of order using stored skipped keys', () => {
    const ck = randomBytes(32);
    const expected = referenceKeys(ck, 10);
    const chain = createReceivingChain(Buffer.from(ck));
    for (const seq of [9, 2, 0, 5]) {
      expect((receive(chain, seq) as Buffer).equals(expected[seq]!)).toBe(true);
    }
    expect(chain.storedKeys).toBe(6);
    expect(receive(chain, 9)).toBe('replayed');
  });

  it('refuses seqs below the window as replays', () => {
    const chain = createReceivingChain(randomBytes(32), { window: 8 });
    receive(chain, 20);
    expect(chain.lookup(12)).toEqual({ ok: false, reason: 'replayed' });
    expect(receive(chain, 13)).toBeInstanceOf(Buffer);
    expect(chain.storedKeys).toBeLessThan(8);
  });

  it('refuses a jump larger than maxSkip without deriving anything', () => {
    const chain = createReceivingChain(randomBytes(32));
    expect(chain.lookup(MAX_SKIP)).toEqual({ ok: false, reason: 'too-far' });
    expect(chain.storedKeys).toBe(0);
    expect(chain.lookup(MAX_SKIP - 1).ok).toBe(true);
    expect(chain.lookup(-1)).toEqual({ ok: false, reason: 'too-far' });
    expect(chain.lookup(1.5)).toEqual({ ok: false, reason: 'too-far' });
  });

  it('does not move the window or consume a key until accept (forged messages change nothing)', () => {
    const ck = randomBytes(32);
    const expected = referenceKeys(ck, 1001);
    const chain = createReceivingChain(Buffer.from(ck));
    // A forger sends seq 1000 over and over; none authenticates, so none is accepted.
    for (let i = 0; i < 5; i++) expect(chain.lookup(1000).ok).toBe(true);
    expect(chain.highestSeq).toBe(-1);
    expect(chain.storedKeys).toBe(1001);
    // The genuine messages 0.. still open, then the genuine 1000.
    expect((receive(chain, 0) as Buffer).equals(expected[0]!)).toBe(true);
    expect((receive(chain, 1000) as Buffer).equals(expected[1000]!)).toBe(true);
    expect(chain.storedKeys).toBe(REPLAY_WINDOW - 1);
  });

  it('keeps at most maxStored keys, dropping the oldest (A14)', () => {
    const chain = createReceivingChain(randomBytes(32), {
      window: 10_000,
      maxSkip: 10_000,
      maxStored: 100,
    });
    expect(chain.lookup(5000).ok).toBe(true);
    expect(chain.storedKeys).toBe(100);
    expect(chain.lookup(0)).toEqual({ ok: false, reason: 'replayed' });
    expect(chain.lookup(4901).ok).toBe(true);
  });

  it('wipes keys it drops and every stored key on destroy', () => {
    const chain = createReceivingChain(randomBytes(32), { window: 4 });
    const early = chain.lookup(0);
    const later = chain.lookup(3);
    if (!early.ok || !later.ok) throw new Error('lookup failed');
    receive(chain, 9); // slides the window past 0..5
    expect(isZero(early.key)).toBe(true);
    const stored = chain.lookup(7);
    if (!stored.ok) throw new Error('lookup failed');
    chain.destroy();
    expect(isZero(stored.key)).toBe(true);
    expect(thrownCode(() => chain.lookup(8))).toBe('ERR_CRYPTO_INPUT');
  });

  it('throws on accept without a successful lookup (a broken invariant)', () => {
    const chain = createReceivingChain(randomBytes(32));
    expect(thrownCode(() => chain.accept(3))).toBe('ERR_CRYPTO_INPUT');
  });
});

describe('receiving chain properties', () => {
  it('opens every seq exactly once, in any order within the window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: REPLAY_WINDOW }).chain((n) =>
          fc.shuffledSubarray(
            Array.from({ length: n }, (_, i) => i),
            { minLength: n, maxLength: n },
          ),
        ),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (order, seed) => {
          const ck = Buffer.from(seed);
          const expected = referenceKeys(ck, order.length);
          const chain = createReceivingChain(Buffer.from(ck));
          for (const seq of order) {
            const key = receive(chain, seq);
            if (!(key instanceof Buffer) || !key.equals(expected[seq]!)) return false;
          }
          return order.every((seq) => receive(chain, seq) === 'replayed');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('matches the window model for any sequence of arrivals, duplicates and jumps included', () => {
    const window = 32;
    const maxSkip = 64;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 300 }), (arrivals) => {
        const chain = createReceivingChain(randomBytes(32), { window, maxSkip });
        const used = new Set<number>();
        let highest = -1;
        for (const seq of arrivals) {
          let want: string;
          if (seq <= highest - window || used.has(seq)) want = 'replayed';
          else if (seq - highest > maxSkip) want = 'too-far';
          else want = 'ok';
          const got = receive(chain, seq);
          if ((got instanceof Buffer ? 'ok' : got) !== want) return false;
          if (want === 'ok') {
            used.add(seq);
            highest = Math.max(highest, seq);
          }
          if (chain.storedKeys > window + maxSkip) return false;
        }
        return true;
      }),
      { numRuns: 500 },
    );
  });

  it('never accepts a seq twice, whatever happens in between', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 200 }),
        (arrivals) => {
          const chain = createReceivingChain(randomBytes(32));
          const accepted = new Set<number>();
          for (const seq of arrivals) {
            const got = receive(chain, seq);
            if (got instanceof Buffer) {
              if (accepted.has(seq)) return false;
              accepted.add(seq);
            }
          }
          return [...accepted].every((seq) => receive(chain, seq) === 'replayed');
        },
      ),
      { numRuns: 300 },
    );
  });
});
