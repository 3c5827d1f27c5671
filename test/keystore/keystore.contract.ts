/**
 * The behaviour every `Keystore` shares. Each implementation's test file runs this suite with a
 * factory for a fresh, empty keystore.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Keystore } from '../../src/keystore/keystore.js';

export interface KeystoreFixture {
  readonly keystore: Keystore;
  readonly cleanup: () => Promise<void>;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'none';
  } catch (err) {
    return (err as { code?: string }).code ?? 'uncoded';
  }
}

export function describeKeystoreContract(
  name: string,
  create: () => Promise<KeystoreFixture>,
): void {
  describe(`${name} (keystore contract)`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });
    const fresh = async (): Promise<Keystore> => {
      const fixture = await create();
      cleanups.push(fixture.cleanup);
      return fixture.keystore;
    };

    it('returns what was put when getting the same id', async () => {
      const ks = await fresh();
      const secret = randomBytes(32);
      await ks.putSecret('room:r1:epoch:1', secret);
      expect((await ks.getSecret('room:r1:epoch:1'))?.equals(secret)).toBe(true);
    });

    it('returns undefined when the id was never stored', async () => {
      const ks = await fresh();
      expect(await ks.getSecret('nothing-here')).toBeUndefined();
    });

    it('keeps its own copy when the caller mutates the input or the result', async () => {
      const ks = await fresh();
      const secret = Buffer.from('0123456789abcdef');
      await ks.putSecret('s', secret);
      secret.fill(0);
      const first = await ks.getSecret('s');
      first?.fill(0);
      expect((await ks.getSecret('s'))?.toString()).toBe('0123456789abcdef');
    });

    it('replaces the secret when putting an existing id again', async () => {
      const ks = await fresh();
      await ks.putSecret('s', Buffer.from('one'));
      await ks.putSecret('s', Buffer.from('two'));
      expect((await ks.getSecret('s'))?.toString()).toBe('two');
    });

    it('lists ids sorted and filtered by prefix', async () => {
      const ks = await fresh();
      for (const id of ['room:b:1', 'room:a:2', 'session:x', 'room:a:1', 'Room:A:1']) {
        await ks.putSecret(id, Buffer.from(id));
      }
      expect(await ks.listSecrets()).toEqual([
        'Room:A:1',
        'room:a:1',
        'room:a:2',
        'room:b:1',
        'session:x',
      ]);
      expect(await ks.listSecrets('room:a:')).toEqual(['room:a:1', 'room:a:2']);
      expect(await ks.listSecrets('none')).toEqual([]);
    });

    it('treats ids that differ only in case as different secrets', async () => {
      const ks = await fresh();
      await ks.putSecret('Key', Buffer.from('upper'));
      await ks.putSecret('key', Buffer.from('lower'));
      expect((await ks.getSecret('Key'))?.toString()).toBe('upper');
      expect((await ks.getSecret('key'))?.toString()).toBe('lower');
    });

    it('forgets a secret when it is deleted, and ignores deleting a missing one', async () => {
      const ks = await fresh();
      await ks.putSecret('gone', randomBytes(32));
      await ks.deleteSecret('gone');
      expect(await ks.getSecret('gone')).toBeUndefined();
      expect(await ks.listSecrets()).toEqual([]);
      await ks.deleteSecret('gone');
    });

    it('accepts ids up to 128 characters of the allowed set', async () => {
      const ks = await fresh();
      const longest = `${'a'.repeat(120)}:._-0123`;
      expect(longest.length).toBe(128);
      await ks.putSecret(longest, Buffer.from('x'));
      expect(await ks.listSecrets()).toEqual([longest]);
    });

    it('rejects invalid ids and empty secrets with ERR_INVALID_ARGUMENT', async () => {
      const ks = await fresh();
      for (const bad of [
        '',
        '../escape',
        'a/b',
        'a b',
        'é',
        'x'.repeat(129),
        'a\\b',
        'nul\u0000',
      ]) {
        expect(await codeOf(ks.putSecret(bad, Buffer.from('x')))).toBe('ERR_INVALID_ARGUMENT');
        expect(await codeOf(ks.getSecret(bad))).toBe('ERR_INVALID_ARGUMENT');
        expect(await codeOf(ks.deleteSecret(bad))).toBe('ERR_INVALID_ARGUMENT');
      }
      expect(await codeOf(ks.putSecret('ok', Buffer.alloc(0)))).toBe('ERR_INVALID_ARGUMENT');
    });

    it('returns the same identity when asked again, even concurrently', async () => {
      const ks = await fresh();
      const [a, b] = await Promise.all([
        ks.loadOrCreateIdentity('ed25519'),
        ks.loadOrCreateIdentity('ed25519'),
      ]);
      expect(a.fingerprint).toBe(b.fingerprint);
      expect((await ks.loadOrCreateIdentity('ed25519')).fingerprint).toBe(a.fingerprint);
      expect(await ks.listSecrets()).toEqual([]);
    });

    it('refuses with ERR_INVALID_CONFIG when asked for another identity kind', async () => {
      const ks = await fresh();
      await ks.loadOrCreateIdentity('ed25519');
      expect(await codeOf(ks.loadOrCreateIdentity('rsa'))).toBe('ERR_INVALID_CONFIG');
    });

    it('refuses every call with ERR_STORE_CLOSED after close', async () => {
      const ks = await fresh();
      await ks.putSecret('s', Buffer.from('x'));
      await ks.close();
      await ks.close();
      const calls = [
        ks.putSecret('s', Buffer.from('y')),
        ks.getSecret('s'),
        ks.deleteSecret('s'),
        ks.listSecrets(),
        ks.loadOrCreateIdentity('ed25519'),
      ];
      for (const call of calls) expect(await codeOf(call)).toBe('ERR_STORE_CLOSED');
    });
  });
}
