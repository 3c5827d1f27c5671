/**
 * One peer per data directory: a second `serve` on a directory a running peer uses stops with
 * ERR_STORE_LOCKED before it opens anything there — before this lock, it opened the keystore
 * first and shredded the running peer's keystore temp files (they look like a crash's leftovers).
 * Once the first peer is gone, the directory is free again.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { servePeer } from '../../src/cli/serve.js';
import { resolveServeConfig } from '../../src/cli/serve-config.js';
import { testPeers } from '../support/peer-process.js';

const lab = testPeers();
afterAll(() => lab.cleanup());

const io = { stdout: () => undefined, stderr: () => undefined, logger: pino({ level: 'silent' }) };

describe('serve: the data directory lock', () => {
  it('refuses a second peer on a data directory in use, and frees it at shutdown', async () => {
    const dir = await lab.tempDir('dirlock');
    const config = resolveServeConfig({
      name: 'one',
      dataDir: dir,
      host: '127.0.0.1',
      port: 0,
      apiPort: 0,
      store: `file:${join(dir, 'log')}`,
      identity: 'ed25519',
      discovery: false,
      multicast: '239.255.42.99:7402',
      interface: 'lo',
      trust: 'tofu',
      logLevel: 'silent',
    });
    const first = await servePeer(config, io);
    // A temp file of a keystore write under way in the running peer.
    const keys = join(dir, 'keys');
    const before = await readdir(keys);
    let refused: unknown;
    try {
      await servePeer({ ...config, name: 'two' }, io).then((p) => p.shutdown('test'));
    } catch (err) {
      refused = err;
    }
    expect(refused).toMatchObject({ code: 'ERR_STORE_LOCKED' });
    expect(String((refused as Error).message)).toMatch(/data directory/);
    expect(await readdir(keys)).toEqual(before);
    await first.shutdown('test');
    const again = await servePeer(config, io);
    await again.shutdown('test');
  });
});
