import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { fillRandom, pooledRandomBytes } from '../../src/crypto/random.js';
import { createEphemeralSource, generateX25519KeyPair } from '../../src/crypto/x25519.js';

describe('pooled CSPRNG bytes', () => {
  it('never hands the same bytes out twice, across pool refills', () => {
    const seen = new Set<string>();
    // 3 000 × 16 bytes: the 4 KiB pool is refilled about a dozen times.
    for (let i = 0; i < 3000; i++) seen.add(pooledRandomBytes(16).toString('hex'));
    expect(seen.size).toBe(3000);
  });

  it('returns buffers of their own, of the asked length, also past the pool limit', () => {
    const a = pooledRandomBytes(32);
    const b = pooledRandomBytes(32);
    expect(a.length).toBe(32);
    expect(a.buffer === b.buffer && a.byteOffset === b.byteOffset).toBe(false);
    a.fill(0);
    expect(b.equals(Buffer.alloc(32))).toBe(false);
    const big = pooledRandomBytes(1000);
    expect(big.length).toBe(1000);
    expect(big.equals(Buffer.alloc(1000))).toBe(false);
  });

  it('fills exactly the range asked for', () => {
    const out = Buffer.alloc(40);
    fillRandom(out, 10, 12);
    expect(out.subarray(0, 10).equals(Buffer.alloc(10))).toBe(true);
    expect(out.subarray(22).equals(Buffer.alloc(18))).toBe(true);
    expect(out.subarray(10, 22).equals(Buffer.alloc(12))).toBe(false);
  });

  it('looks uniform: every byte value turns up, none far too often', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 1024; i++) for (const b of pooledRandomBytes(64)) counts[b]! += 1;
    // 65 536 bytes: 256 expected per value; 5 standard deviations is ±80.
    expect(Math.min(...counts)).toBeGreaterThan(256 - 80);
    expect(Math.max(...counts)).toBeLessThan(256 + 80);
  });
});

describe('ephemeral source', () => {
  it('hands out each pair once, and the one made ahead after the loop turns', async () => {
    let made = 0;
    const source = createEphemeralSource(() => {
      made += 1;
      return generateX25519KeyPair();
    });
    const first = source.take(); // none ready: made now
    expect(made).toBe(1);
    await tick();
    expect(made).toBe(2); // the spare, made while nothing else ran
    const second = source.take();
    expect(made).toBe(2); // the spare was handed out, not a new one
    expect(second.publicKeyRaw.equals(first.publicKeyRaw)).toBe(false);
    await tick();
    const keys = new Set([first, second, source.take(), source.take(), source.take()]);
    expect(new Set([...keys].map((k) => k.publicKeyRaw.toString('hex'))).size).toBe(5);
    source.close();
  });

  it('makes no more after close, and drops the spare', async () => {
    let made = 0;
    const source = createEphemeralSource(() => {
      made += 1;
      return generateX25519KeyPair();
    });
    source.take();
    await tick();
    expect(made).toBe(2);
    source.close();
    await tick();
    const after = source.take(); // still works (a fresh pair), but no spare is made
    await tick();
    expect(made).toBe(3);
    expect(after.publicKeyRaw.length).toBe(32);
  });

  it('a spare scheduled before close is never made', async () => {
    let made = 0;
    const source = createEphemeralSource(() => {
      made += 1;
      return generateX25519KeyPair();
    });
    source.take();
    source.close();
    await tick();
    expect(made).toBe(1);
  });
});
