import { randomBytes } from 'node:crypto';
import {
  chmod,
  link,
  mkdir,
  readdir,
  readFile,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileKeystore } from '../../src/keystore/file-keystore.js';
import { describeKeystoreContract } from './keystore.contract.js';
import { codeOf, tempDataDir } from './support.js';

describeKeystoreContract('file keystore', async () => {
  const { keysDir, cleanup } = await tempDataDir();
  return { keystore: await createFileKeystore({ dir: keysDir }), cleanup };
});

const isPosix = process.platform !== 'win32';

describe('file keystore', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  const dirs = async () => {
    const d = await tempDataDir();
    cleanups.push(d.cleanup);
    return d;
  };

  it('is not volatile and creates its directory and files when opened', async () => {
    const { keysDir } = await dirs();
    const ks = await createFileKeystore({ dir: keysDir });
    expect(ks.isVolatile).toBe(false);
    expect(await readdir(keysDir)).toEqual(['keystore.json']);
    await ks.close();
  });

  it.skipIf(!isPosix)('creates the directory 0700 and every file 0600', async () => {
    const { keysDir } = await dirs();
    const ks = await createFileKeystore({ dir: keysDir });
    await ks.loadOrCreateIdentity('ed25519');
    await ks.putSecret('room:r1:epoch:1', randomBytes(32));
    expect((await stat(keysDir)).mode & 0o777).toBe(0o700);
    const files = await readdir(keysDir);
    expect(files.length).toBe(3);
    for (const name of files)
      expect([name, (await stat(join(keysDir, name))).mode & 0o777]).toEqual([name, 0o600]);
    await ks.close();
  });

  it.skipIf(!isPosix)('tightens a directory and files that exist with looser modes', async () => {
    const { keysDir } = await dirs();
    const first = await createFileKeystore({ dir: keysDir });
    await first.putSecret('s', Buffer.from('x'));
    await first.close();
    await chmod(keysDir, 0o755);
    const [secretFile] = (await readdir(keysDir)).filter((n) => n.startsWith('secret-'));
    await chmod(join(keysDir, secretFile!), 0o644);
    const ks = await createFileKeystore({ dir: keysDir });
    expect((await stat(keysDir)).mode & 0o777).toBe(0o700);
    await ks.getSecret('s');
    expect((await stat(join(keysDir, secretFile!))).mode & 0o777).toBe(0o600);
    await ks.close();
  });

  it('keeps the identity and secrets across a reopen', async () => {
    const { keysDir } = await dirs();
    const first = await createFileKeystore({ dir: keysDir });
    const me = await first.loadOrCreateIdentity('ed25519');
    await first.putSecret('room:r1:epoch:1', Buffer.from('epoch key'));
    await first.close();
    const second = await createFileKeystore({ dir: keysDir });
    expect((await second.loadOrCreateIdentity('ed25519')).fingerprint).toBe(me.fingerprint);
    expect((await second.getSecret('room:r1:epoch:1'))?.toString()).toBe('epoch key');
    expect(await second.listSecrets()).toEqual(['room:r1:epoch:1']);
    expect(await codeOf(second.loadOrCreateIdentity('rsa'))).toBe('ERR_INVALID_CONFIG');
    await second.close();
  });

  it('keeps an RSA identity across a reopen', async () => {
    const { keysDir } = await dirs();
    const first = await createFileKeystore({ dir: keysDir });
    const me = await first.loadOrCreateIdentity('rsa');
    await first.close();
    const second = await createFileKeystore({ dir: keysDir });
    const again = await second.loadOrCreateIdentity('rsa');
    expect(again.fingerprint).toBe(me.fingerprint);
    expect(again.publicKey.asymmetricKeyType).toBe('rsa-pss');
    expect(await codeOf(second.loadOrCreateIdentity('ed25519'))).toBe('ERR_INVALID_CONFIG');
    await second.close();
  }, 30_000);

  it('shreds a deleted secret: overwrites it in place, then removes the file', async () => {
    const { dataDir, keysDir } = await dirs();
    const ks = await createFileKeystore({ dir: keysDir });
    const secret = randomBytes(64);
    await ks.putSecret('doomed', secret);
    const [name] = (await readdir(keysDir)).filter((n) => n.startsWith('secret-'));
    // A second hard link to the same inode lets us see what the shred left in the blocks.
    const witness = join(dataDir, 'witness');
    await link(join(keysDir, name!), witness);
    const before = await readFile(witness);
    expect(before.includes(secret)).toBe(true);
    await ks.deleteSecret('doomed');
    expect(await readdir(keysDir)).toEqual(['keystore.json']);
    const after = await readFile(witness);
    expect(after.length).toBe(before.length);
    expect(after.includes(secret)).toBe(false);
    expect(after.subarray(0, 4).toString('latin1')).not.toBe('CKS1');
    await unlink(witness);
    await ks.close();
  });

  it('shreds temp files an interrupted write left behind when opened', async () => {
    const { keysDir } = await dirs();
    await (await createFileKeystore({ dir: keysDir })).close();
    await writeFile(join(keysDir, '.secret-abc.key.0011aabbccdd.tmp'), 'half-written secret', {
      mode: 0o600,
    });
    await (await createFileKeystore({ dir: keysDir })).close();
    expect(await readdir(keysDir)).toEqual(['keystore.json']);
  });

  it('ignores files that are not secrets when listing', async () => {
    const { keysDir } = await dirs();
    const ks = await createFileKeystore({ dir: keysDir });
    await ks.putSecret('real', Buffer.from('x'));
    await writeFile(join(keysDir, 'README'), 'hello');
    await writeFile(join(keysDir, 'secret-UPPER.key'), 'not ours');
    await writeFile(join(keysDir, 'secret-a.key'), 'not canonical base32');
    // base32 of '../x': decodes, but is not a valid id.
    await writeFile(join(keysDir, 'secret-fyxc66a.key'), 'planted');
    expect(await ks.listSecrets()).toEqual(['real']);
    await ks.close();
  });

  describe('corruption', () => {
    it('reports ERR_KEYSTORE_CORRUPT when a secret file is modified', async () => {
      const { keysDir } = await dirs();
      const ks = await createFileKeystore({ dir: keysDir });
      await ks.putSecret('s', Buffer.from('some secret bytes'));
      const [name] = (await readdir(keysDir)).filter((n) => n.startsWith('secret-'));
      const file = await readFile(join(keysDir, name!));
      file[file.length - 1]! ^= 1;
      await writeFile(join(keysDir, name!), file);
      expect(await codeOf(ks.getSecret('s'))).toBe('ERR_KEYSTORE_CORRUPT');
      await writeFile(join(keysDir, name!), 'garbage');
      expect(await codeOf(ks.getSecret('s'))).toBe('ERR_KEYSTORE_CORRUPT');
      await ks.close();
    });

    it('reports ERR_KEYSTORE_CORRUPT when a file is copied over another name', async () => {
      const { keysDir } = await dirs();
      const ks = await createFileKeystore({ dir: keysDir });
      await ks.putSecret('a', Buffer.from('secret a'));
      await ks.putSecret('b', Buffer.from('secret b'));
      const names = (await readdir(keysDir)).filter((n) => n.startsWith('secret-')).sort();
      await writeFile(join(keysDir, names[1]!), await readFile(join(keysDir, names[0]!)));
      const results = [await codeOf(ks.getSecret('a')), await codeOf(ks.getSecret('b'))].sort();
      expect(results).toEqual(['ERR_KEYSTORE_CORRUPT', 'none']);
      await ks.close();
    });

    it('reports ERR_KEYSTORE_CORRUPT for a damaged identity file', async () => {
      const { keysDir } = await dirs();
      const ks = await createFileKeystore({ dir: keysDir });
      await ks.loadOrCreateIdentity('ed25519');
      await ks.close();
      const path = join(keysDir, 'identity.key');
      const file = await readFile(path);
      file[40]! ^= 0xff;
      await writeFile(path, file);
      const again = await createFileKeystore({ dir: keysDir });
      expect(await codeOf(again.loadOrCreateIdentity('ed25519'))).toBe('ERR_KEYSTORE_CORRUPT');
      await again.close();
    });

    it('refuses to open with ERR_KEYSTORE_CORRUPT when the header is damaged or missing', async () => {
      const { keysDir } = await dirs();
      const ks = await createFileKeystore({ dir: keysDir });
      await ks.putSecret('s', Buffer.from('x'));
      await ks.close();
      const header = join(keysDir, 'keystore.json');
      const original = await readFile(header);
      for (const bad of [
        '{',
        '[]',
        '{"format":"conclave-keystore","v":2,"protection":"none"}',
        '{"format":"x"}',
      ]) {
        await writeFile(header, bad);
        expect(await codeOf(createFileKeystore({ dir: keysDir }))).toBe('ERR_KEYSTORE_CORRUPT');
      }
      await unlink(header);
      expect(await codeOf(createFileKeystore({ dir: keysDir }))).toBe('ERR_KEYSTORE_CORRUPT');
      await writeFile(header, original);
      await (await createFileKeystore({ dir: keysDir })).close();
    });

    it('refuses a keys path that is a file or a symlink with ERR_INVALID_CONFIG', async () => {
      const { dataDir } = await dirs();
      const file = join(dataDir, 'not-a-dir');
      await writeFile(file, 'x');
      expect(await codeOf(createFileKeystore({ dir: file }))).toBe('ERR_INVALID_CONFIG');
      expect(await codeOf(createFileKeystore({ dir: join(file, 'keys') }))).toBe(
        'ERR_INVALID_CONFIG',
      );
      if (isPosix) {
        await mkdir(join(dataDir, 'real'));
        await symlink(join(dataDir, 'real'), join(dataDir, 'linked'));
        expect(await codeOf(createFileKeystore({ dir: join(dataDir, 'linked') }))).toBe(
          'ERR_INVALID_CONFIG',
        );
      }
    });
  });
});
