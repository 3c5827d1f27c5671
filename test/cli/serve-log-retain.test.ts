/**
 * `conclave serve --log-retain`, `--room-history` and `--heap-growth`: how the flags resolve
 * (against the store), and what they refuse.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { applyHeapGrowth } from '../../src/cli/heap-growth.js';
import { resolveServeConfig } from '../../src/cli/serve-config.js';

const MIB = 1024 * 1024;

/** Commander's merged view with every default filled in, as `serve` hands it over. */
function raw(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    host: '0.0.0.0',
    port: '7400',
    apiPort: '7401',
    store: 'memory',
    identity: 'ed25519',
    multicast: '239.255.42.99:7402',
    trust: 'tofu',
    logLevel: 'info',
    ...extra,
  };
}

function configError(extra: Record<string, unknown>): AppError {
  try {
    resolveServeConfig(raw(extra));
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('ERR_INVALID_CONFIG');
    return err as AppError;
  }
  throw new Error(`${JSON.stringify(extra)} was accepted`);
}

describe('serve --log-retain', () => {
  it('keeps the newest 16 MiB by default on the memory store', () => {
    expect(resolveServeConfig(raw({})).logRetainBytes).toBe(16 * MIB);
    expect(resolveServeConfig(raw({ volatile: true })).logRetainBytes).toBe(16 * MIB);
  });

  it('keeps everything on a durable store when the flag is not given', () => {
    expect(resolveServeConfig(raw({ store: 'file:/tmp/log' })).logRetainBytes).toBe(0);
    expect(resolveServeConfig(raw({ store: 'mongodb://db/x' })).logRetainBytes).toBe(0);
  });

  it.each([
    ['0', 0],
    ['256', 256 * MIB],
    ['0.5', MIB / 2],
    ['0.001', Math.ceil(0.001 * MIB)],
  ])('takes %s MiB as %i bytes', (value, bytes) => {
    expect(resolveServeConfig(raw({ logRetain: value })).logRetainBytes).toBe(bytes);
  });

  it('refuses the flag with a durable store, without echoing the store URI', () => {
    expect(configError({ store: 'file:/tmp/log', logRetain: '8' }).message).toMatch(
      /^--log-retain applies to the memory store only/,
    );
    const err = configError({ store: 'mongodb://u:secret@db/x', logRetain: '0' });
    expect(err.message).toContain('memory store only');
    expect(err.message).not.toContain('secret');
  });

  it.each(['-1', 'lots', '65537', 'Infinity'])('refuses %j with the flag named', (value) => {
    expect(configError({ logRetain: value }).message).toMatch(/^--log-retain /);
  });
});

describe('serve --room-history', () => {
  it('keeps 10 000 messages per room by default, and takes a whole number from 100 to 1 000 000', () => {
    expect(resolveServeConfig(raw({})).roomHistory).toBe(10_000);
    expect(resolveServeConfig(raw({ roomHistory: '250' })).roomHistory).toBe(250);
    expect(
      resolveServeConfig(raw({ roomHistory: 1_000_000, store: 'file:/tmp/x' })).roomHistory,
    ).toBe(1_000_000);
  });

  it('refuses what is not a sane message count, saying what it takes', () => {
    for (const bad of ['many', '99', '0', '-5', '12.5', '1000001'])
      expect(configError({ roomHistory: bad }).message).toMatch(
        /room-history|roomHistory|messages/,
      );
  });
});

describe('serve --heap-growth', () => {
  it('grows the heap by at most 30 % per full GC by default, 0 leaving it to V8', () => {
    expect(resolveServeConfig(raw({})).heapGrowthPercent).toBe(30);
    expect(resolveServeConfig(raw({ heapGrowth: '0' })).heapGrowthPercent).toBe(0);
    expect(resolveServeConfig(raw({ heapGrowth: '100' })).heapGrowthPercent).toBe(100);
    for (const bad of ['lots', '-1', '12.5', '401', ''])
      expect(configError({ heapGrowth: bad }).message).toMatch(/^--heap-growth /);
  });

  it('sets the V8 flag, unless node was started with its own', () => {
    const set: string[] = [];
    expect(applyHeapGrowth(30, [], (f) => set.push(f))).toBe(30);
    expect(set).toEqual(['--heap-growing-percent=30']);
    expect(applyHeapGrowth(0, [], (f) => set.push(f))).toBeUndefined();
    expect(applyHeapGrowth(30, ['--heap-growing-percent=50'], (f) => set.push(f))).toBe(50);
    expect(applyHeapGrowth(30, ['--heap_growing_percent=40'], (f) => set.push(f))).toBe(40);
    expect(applyHeapGrowth(30, ['--inspect', '--heap-growing-percent=0'], (f) => set.push(f))).toBe(
      undefined,
    );
    expect(set).toHaveLength(1);
  });
});
