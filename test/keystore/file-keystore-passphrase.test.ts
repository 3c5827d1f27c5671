import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exportPrivateKey } from '../../src/crypto/identity.js';
import { createFileKeystore } from '../../src/keystore/file-keystore.js';
import { describeKeystoreContract } from './keystore.contract.js';
import { codeOf, errorOf, scanDir, tempDataDir } from './support.js';

/** Cheap scrypt for tests (2^14); one test below uses the real default (2^17). */
const scryptLog2N = 14;
const passphrase = 'correct horse battery staple';

describeKeystoreContract('passphrase-wrapped file keystore', async () => {
  const { keysDir, cleanup } = await tempDataDir();
  return { keystore: await createFileKeystore({ dir: keysDir, passphrase, scryptLog2N }), cleanup };
});

describe('passphrase-wrapped file keystore', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  const keysDirFor = async () => {
    const d = await tempDataDir();
    cleanups.push(d.cleanup);
    return d.keysDir;
  };

  it('round-trips the identity and secrets across a reopen with the default scrypt cost', async () => {
    const dir = await keysDirFor();
    const first = await createFileKeystore({ dir, passphrase });
    const me = await first.loadOrCreateIdentity('ed25519');
    await first.putSecret('room:r1:epoch:1', Buffer.from('epoch key'));
    await first.close();
    const header = JSON.parse(await readFile(join(dir, 'keystore.json'), 'utf8'));
    expect(header.kdf).toMatchObject({ name: 'scrypt', log2N: 17, r: 8, p: 1 });
    const second = await createFileKeystore({ dir, passphrase });
    expect((await second.loadOrCreateIdentity('ed25519')).fingerprint).toBe(me.fingerprint);
    expect((await second.getSecret('room:r1:epoch:1'))?.toString()).toBe('epoch key');
    await second.close();
  }, 20_000);

  it('refuses a wrong passphrase with ERR_BAD_PASSPHRASE, without echoing it', async () => {
    const dir = await keysDirFor();
    await (await createFileKeystore({ dir, passphrase, scryptLog2N })).close();
    const failure = await errorOf(createFileKeystore({ dir, passphrase: 'hunter2', scryptLog2N }));
    expect(failure.code).toBe('ERR_BAD_PASSPHRASE');
    expect(failure.message).not.toContain('hunter2');
    expect(failure.message).toContain(dir);
  });

  it('refuses to open without the passphrase with ERR_KEYSTORE_LOCKED', async () => {
    const dir = await keysDirFor();
    await (await createFileKeystore({ dir, passphrase, scryptLog2N })).close();
    expect(await codeOf(createFileKeystore({ dir }))).toBe('ERR_KEYSTORE_LOCKED');
  });

  it('refuses a passphrase for an unprotected keystore, and an empty passphrase, with ERR_INVALID_CONFIG', async () => {
    const dir = await keysDirFor();
    await (await createFileKeystore({ dir })).close();
    expect(await codeOf(createFileKeystore({ dir, passphrase, scryptLog2N }))).toBe(
      'ERR_INVALID_CONFIG',
    );
    expect(await codeOf(createFileKeystore({ dir: await keysDirFor(), passphrase: '' }))).toBe(
      'ERR_INVALID_CONFIG',
    );
  });

  it('treats the NFC and NFD spellings of a passphrase as the same', async () => {
    const dir = await keysDirFor();
    await (await createFileKeystore({ dir, passphrase: 'caf\u00e9', scryptLog2N })).close();
    await (await createFileKeystore({ dir, passphrase: 'cafe\u0301', scryptLog2N })).close();
  });

  it('reports a modified entry as ERR_KEYSTORE_CORRUPT, not as a bad passphrase', async () => {
    const dir = await keysDirFor();
    const ks = await createFileKeystore({ dir, passphrase, scryptLog2N });
    await ks.loadOrCreateIdentity('ed25519');
    await ks.close();
    const path = join(dir, 'identity.key');
    const file = await readFile(path);
    file[30]! ^= 1;
    await writeFile(path, file);
    const again = await createFileKeystore({ dir, passphrase, scryptLog2N });
    expect(await codeOf(again.loadOrCreateIdentity('ed25519'))).toBe('ERR_KEYSTORE_CORRUPT');
    await again.close();
  });

  it('reports a tampered header check as ERR_BAD_PASSPHRASE and a weakened cost as corrupt', async () => {
    const dir = await keysDirFor();
    await (await createFileKeystore({ dir, passphrase, scryptLog2N })).close();
    const path = join(dir, 'keystore.json');
    const header = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...header, kdf: { ...header.kdf, log2N: 10 } }));
    expect(await codeOf(createFileKeystore({ dir, passphrase }))).toBe('ERR_KEYSTORE_CORRUPT');
    await writeFile(
      path,
      JSON.stringify({
        ...header,
        kdf: { ...header.kdf, salt: Buffer.alloc(16).toString('base64url') },
      }),
    );
    expect(await codeOf(createFileKeystore({ dir, passphrase }))).toBe('ERR_BAD_PASSPHRASE');
  });

  it('leaves no trace of secrets or the identity key on disk in raw, hex or base64 form', async () => {
    const dir = await keysDirFor();
    const ks = await createFileKeystore({ dir, passphrase, scryptLog2N });
    const me = await ks.loadOrCreateIdentity('ed25519');
    const secret = randomBytes(32);
    await ks.putSecret('room:r1:epoch:1', secret);
    await ks.close();
    const pkcs8 = exportPrivateKey(me);
    const seed = pkcs8.subarray(pkcs8.length - 32); // the raw Ed25519 private key
    const passphraseBytes = Buffer.from(passphrase);
    for (const needle of [secret, pkcs8, seed, passphraseBytes])
      expect(await scanDir(dir, needle)).toEqual([]);
  });

  it('shows the scan finds secrets when the keystore is not wrapped (the scan is not vacuous)', async () => {
    const dir = await keysDirFor();
    const ks = await createFileKeystore({ dir });
    const secret = randomBytes(32);
    await ks.putSecret('room:r1:epoch:1', secret);
    await ks.close();
    expect((await scanDir(dir, secret)).length).toBeGreaterThan(0);
  });
});
