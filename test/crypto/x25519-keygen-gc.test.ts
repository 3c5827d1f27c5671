/**
 * Regression: generating ephemeral keys must never freeze the process.
 *
 * On Node 20, `publicKey.export({ format: 'jwk' })` on a key fresh out of `generateKeyPairSync`
 * holds the key's lock while it allocates; a GC at that moment may collect the finished keygen
 * job, whose destructor takes the same lock — a deadlock that no timer or signal can break (gdb:
 * `ExportJWKEdKey` → GC → `~KeyGenJob` → `uv_mutex_lock`). The handshake bench froze about one run
 * in three; a loop that exports like that froze within 60 k keys every time we tried. The loop
 * below runs our `generateX25519KeyPair` with allocation pressure in a child process, which must
 * finish: a hang shows up as the child killed at the deadline.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MODULE = fileURLToPath(new URL('../../src/crypto/x25519.ts', import.meta.url));
const KEYS = 120_000;
const DEADLINE_MS = 100_000;

const script = `
  const { generateX25519KeyPair, x25519SharedSecret } = await import(${JSON.stringify(MODULE)});
  const peer = generateX25519KeyPair();
  let junk = [];
  for (let i = 0; i < ${KEYS}; i++) {
    const pair = generateX25519KeyPair();
    if (pair.publicKeyRaw.length !== 32) throw new Error('bad public key');
    // Garbage of mixed sizes, so that young-generation GCs land at arbitrary points.
    junk.push({ s: 'x'.repeat(i % 64), raw: pair.publicKeyRaw });
    if (junk.length > 1000) junk = [];
    if (i % 1000 === 0) x25519SharedSecret(pair.privateKey, peer.publicKeyRaw);
  }
  process.stdout.write('done ' + ${KEYS});
`;

describe('generateX25519KeyPair under GC pressure', () => {
  it(
    `makes ${KEYS} key pairs without freezing the process`,
    async () => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.on('exit', (c, s) => resolve([c, s])),
      );
      clearTimeout(timer);
      expect({ code, signal, out, err: err.slice(0, 500) }).toEqual({
        code: 0,
        signal: null,
        out: `done ${KEYS}`,
        err: '',
      });
    },
    DEADLINE_MS + 20_000,
  );
});
