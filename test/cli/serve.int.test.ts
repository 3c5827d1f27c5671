import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileKeystore } from '../../src/keystore/file-keystore.js';
import { http } from '../support/http.js';
import { runCli, startPeer, type PeerProcess } from '../support/peer-process.js';

const dirs: string[] = [];
const peers: PeerProcess[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'conclave-serve-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const p of peers.splice(0)) await p.stop('SIGKILL');
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

describe('conclave serve', () => {
  it('prints the ready line, answers health and info, and exits 0 on SIGTERM', async () => {
    const dataDir = await tempDir();
    const peer = await startPeer([
      '--volatile',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--api-port',
      '0',
      '--name',
      'alice',
    ]);
    peers.push(peer);
    expect(peer.ready).toMatchObject({ name: 'alice', pid: peer.child.pid });
    expect(peer.ready.peerId).toMatch(/^[0-9a-f]{64}$/);
    expect(peer.ready.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const runtime = JSON.parse(await readFile(join(dataDir, 'runtime.json'), 'utf8'));
    expect(runtime).toEqual(peer.ready);
    expect(await modeOf(join(dataDir, 'runtime.json'))).toBe(0o600);
    expect(await modeOf(join(dataDir, 'api-token'))).toBe(0o600);
    expect(await modeOf(dataDir)).toBe(0o700);
    // volatile + --data-dir: runtime.json and api-token are the only files written
    expect((await readdir(dataDir)).sort()).toEqual(['api-token', 'runtime.json']);

    const health = await http(`${peer.ready.apiUrl}/api/health`);
    expect(health.json.status).toBe('ok');
    const token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim();
    const info = await http(`${peer.ready.apiUrl}/api/info`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(info.json).toMatchObject({
      peerId: peer.ready.peerId,
      name: 'alice',
      store: 'memory',
      state: 'running',
    });

    const actors = await http(`${peer.ready.apiUrl}/api/actors`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(actors.json).toEqual([
      expect.objectContaining({
        machine: 'peer',
        stream: `peer:${peer.ready.peerId}`,
        state: 'running',
        children: expect.arrayContaining([
          expect.objectContaining({
            machine: 'discovery',
            stream: 'discovery',
            state: 'listening',
          }),
          expect.objectContaining({ machine: 'trust', stream: 'trust', state: 'ready' }),
        ]),
      }),
    ]);

    const hello = await http(`${peer.ready.peerUrl}/p2p/v1/hello`);
    expect(hello.json).toMatchObject({ v: 1, peerId: peer.ready.peerId, identityKind: 'ed25519' });

    expect(await peer.stop('SIGTERM')).toBe(0);
    expect(peer.stderr()).not.toMatch(/\n\s+at /); // no stack traces
    await expect(stat(join(dataDir, 'runtime.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('prints its token on stderr and writes nothing when volatile without --data-dir', async () => {
    const home = await tempDir();
    const peer = await startPeer(['--volatile', '--port', '0', '--api-port', '0'], {
      HOME: home,
      CONCLAVE_DATA_DIR: undefined,
    });
    peers.push(peer);
    const m = /conclave api-token (\S+)/.exec(peer.stderr());
    expect(m?.[1]).toBeTruthy();
    const r = await http(`${peer.ready.apiUrl}/api/info`, {
      headers: { authorization: `Bearer ${m?.[1] ?? ''}` },
    });
    expect(r.status).toBe(200);
    expect(await readdir(home)).toEqual([]);
    expect(await peer.stop('SIGINT')).toBe(0);
  });

  it('keeps a durable identity and log across restarts, and the log holds no key bytes', async () => {
    const dataDir = await tempDir();
    const args = [
      '--data-dir',
      dataDir,
      '--store',
      `file:${join(dataDir, 'log')}`,
      '--port',
      '0',
      '--api-port',
      '0',
    ];
    const first = await startPeer(args);
    peers.push(first);
    expect(await first.stop()).toBe(0);
    const second = await startPeer(args);
    peers.push(second);
    expect(second.ready.peerId).toBe(first.ready.peerId);
    expect(await modeOf(join(dataDir, 'keys'))).toBe(0o700);
    for (const f of await readdir(join(dataDir, 'keys')))
      expect(await modeOf(join(dataDir, 'keys', f)), f).toBe(0o600);

    // `conclave log` through the running peer's local API
    const viaApi = await runCli(['log', '--data-dir', dataDir, '--json']);
    expect(viaApi.code, viaApi.stderr).toBe(0);
    const entries = viaApi.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const types = entries
      .filter((e) => e.stream === `peer:${first.ready.peerId}`)
      .map((e) => e.type);
    expect(types).toEqual([
      'xstate.init',
      'peer.listening',
      'peer.stop',
      'peer.stopped',
      'xstate.init',
      'peer.listening',
    ]);
    expect(await second.stop()).toBe(0);

    // …and offline, straight from the stopped peer's file log
    const offline = await runCli(['log', '--store', `file:${join(dataDir, 'log')}`]);
    expect(offline.code, offline.stderr).toBe(0);
    expect(offline.stdout).toContain('peer.stopped');
    expect(offline.stdout).toContain('running → stopping');

    const keystore = await createFileKeystore({ dir: join(dataDir, 'keys') });
    const identity = await keystore.loadOrCreateIdentity('ed25519');
    const pkcs8 = identity.privateKey.export({ format: 'der', type: 'pkcs8' });
    const raw = pkcs8.subarray(pkcs8.length - 32);
    const token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim();
    await keystore.close();
    const logDir = join(dataDir, 'log');
    for (const f of await readdir(logDir)) {
      const content = (await readFile(join(logDir, f))).toString('latin1');
      for (const enc of ['hex', 'base64', 'base64url'] as const)
        expect(content).not.toContain(raw.toString(enc));
      expect(content).not.toContain(raw.toString('latin1'));
      expect(content).not.toContain(token);
    }
  });

  it('refuses a bad flag with a one-line error, a code and exit 2', async () => {
    const r = await runCli(['serve', '--volatile', '--port', 'seventy']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--port .*ERR_INVALID_CONFIG/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('says what to do when a client command finds no running peer', async () => {
    const dataDir = await tempDir();
    const r = await runCli(['info', '--data-dir', dataDir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('conclave serve');
    expect(r.stderr).toContain('ERR_NOT_RUNNING');
  });

  it('reads flags from CONCLAVE_* env vars, and flags win over env', async () => {
    const dataDir = await tempDir();
    const peer = await startPeer(
      ['--volatile', '--data-dir', dataDir, '--port', '0', '--name', 'from-flag'],
      {
        CONCLAVE_API_PORT: '0',
        CONCLAVE_NAME: 'from-env',
      },
    );
    peers.push(peer);
    expect(peer.ready.name).toBe('from-flag');
    const info = await runCli(['info', '--json'], { CONCLAVE_DATA_DIR: dataDir });
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ name: 'from-flag', peerId: peer.ready.peerId });
    expect(await peer.stop()).toBe(0);
  });
});
