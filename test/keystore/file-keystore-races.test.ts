/**
 * Deleting a secret while it is read, or deleting it twice at once: a reader gets the value or
 * nothing — never the random bytes the shred writes (`ERR_KEYSTORE_CORRUPT`) — and both deletes
 * succeed (no raw ENOENT). `room-keys.forget` deletes while a join may still read a KEK.
 */
import { readdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileKeystore } from '../../src/keystore/file-keystore.js';
import { codeOf, tempDataDir } from './support.js';

describe('file keystore: deletes racing reads and deletes', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function keystore() {
    const { keysDir, cleanup } = await tempDataDir();
    cleanups.push(cleanup);
    return { ks: await createFileKeystore({ dir: keysDir }), keysDir };
  }

  it('a read during a delete sees the secret or nothing', async () => {
    const { ks } = await keystore();
    const value = Buffer.alloc(4096, 7);
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      await ks.putSecret('room.r.k.member', value);
      const reads = Array.from({ length: 3 }, () =>
        ks.getSecret('room.r.k.member').then(
          (v) => (v === undefined ? 'none' : v.equals(value) ? 'same' : 'other'),
          (e: unknown) => `error ${String((e as { code?: string }).code)}`,
        ),
      );
      const [, ...outcomes] = await Promise.all([ks.deleteSecret('room.r.k.member'), ...reads]);
      for (const o of outcomes) seen.add(o);
    }
    expect([...seen].filter((o) => o !== 'same' && o !== 'none')).toEqual([]);
  });

  it('two deletes of one id both succeed and leave no file behind', async () => {
    const { ks, keysDir } = await keystore();
    for (let i = 0; i < 30; i++) {
      await ks.putSecret('room.r.e.1', Buffer.alloc(32, i));
      const codes = await Promise.all([
        codeOf(ks.deleteSecret('room.r.e.1')),
        codeOf(ks.deleteSecret('room.r.e.1')),
      ]);
      expect(codes).toEqual(['none', 'none']);
    }
    expect(await ks.getSecret('room.r.e.1')).toBeUndefined();
    expect((await readdir(keysDir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
