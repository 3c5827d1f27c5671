import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { http } from '../support/http.js';
import {
  runCli,
  startPeer,
  uniqueMulticastGroup,
  type PeerProcess,
} from '../support/peer-process.js';

const dirs: string[] = [];
const peers: PeerProcess[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) await p.stop('SIGKILL');
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'conclave-trust-'));
  dirs.push(d);
  return d;
}

async function token(dir: string): Promise<string> {
  return (await readFile(join(dir, 'api-token'), 'utf8')).trim();
}

describe('trust pins from the CLI', () => {
  it('verifies a discovered peer only with the right fingerprint, then blocks and unverifies it', async () => {
    const group = uniqueMulticastGroup();
    const [da, db] = [await tempDir(), await tempDir()];
    const a = await startPeer([
      '--data-dir',
      da,
      '--port',
      '0',
      '--api-port',
      '0',
      '--name',
      'alice',
      '--multicast',
      group,
    ]);
    peers.push(a);
    const b = await startPeer([
      '--data-dir',
      db,
      '--port',
      '0',
      '--api-port',
      '0',
      '--name',
      'bob',
      '--multicast',
      group,
    ]);
    peers.push(b);
    const auth = { authorization: `Bearer ${await token(da)}` };

    await vi.waitFor(
      async () => {
        const r = await http(`${a.ready.apiUrl}/api/peers`, { headers: auth });
        expect(r.json.map((p: { peerId: string }) => p.peerId)).toContain(b.ready.peerId);
      },
      { timeout: 10_000, interval: 200 },
    );
    const listed = await runCli(['peers', '--data-dir', da]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('bob');
    expect(listed.stdout).toContain(b.ready.peerId.slice(0, 12));

    const prefix = b.ready.peerId.slice(0, 8);
    const wrong = await runCli([
      'verify',
      prefix,
      '--data-dir',
      da,
      '--fingerprint',
      a.ready.fingerprint,
    ]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('ERR_FINGERPRINT_MISMATCH');

    const ok = await runCli([
      'verify',
      prefix,
      '--data-dir',
      da,
      '--fingerprint',
      b.ready.fingerprint,
      '--json',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ peerId: b.ready.peerId, state: 'verified' });

    const blocked = await runCli(['block', prefix, '--data-dir', da, '--json']);
    expect(JSON.parse(blocked.stdout)).toMatchObject({ state: 'blocked' });
    const unverified = await runCli(['unverify', prefix, '--data-dir', da, '--json']);
    expect(JSON.parse(unverified.stdout)).toMatchObject({ state: 'unverified' });

    const peersNow = await http(`${a.ready.apiUrl}/api/peers`, { headers: auth });
    expect(
      peersNow.json.find((p: { peerId: string }) => p.peerId === b.ready.peerId),
    ).toMatchObject({ trust: 'unverified', name: 'bob' });

    // every change went to the trust stream of the log
    const log = await http(`${a.ready.apiUrl}/api/log?stream=trust`, { headers: auth });
    expect(log.json.entries.map((e: { type: string }) => e.type)).toEqual([
      'xstate.init',
      'pin.verify',
      'pin.block',
      'pin.unverify',
    ]);

    const replay = await runCli(['log', 'replay', '--stream', 'trust', '--data-dir', da]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toContain('every replayed state matches the recorded one');
    expect(replay.stdout).toContain('pin.block');

    // …and to pins.json (0600), so trust survives a restart
    expect((await stat(join(da, 'pins.json'))).mode & 0o777).toBe(0o600);
    expect(await a.stop()).toBe(0);
    const a2 = await startPeer([
      '--data-dir',
      da,
      '--port',
      '0',
      '--api-port',
      '0',
      '--name',
      'alice',
      '--no-discovery',
    ]);
    peers.push(a2);
    const after = await http(`${a2.ready.apiUrl}/api/peers`, { headers: auth });
    expect(after.json).toEqual([
      expect.objectContaining({ peerId: b.ready.peerId, trust: 'unverified', addresses: [] }),
    ]);
  }, 40_000);

  it('pushes peer and trust changes on /api/events and resumes from Last-Event-ID', async () => {
    const group = uniqueMulticastGroup();
    const [da, db] = [await tempDir(), await tempDir()];
    const a = await startPeer([
      '--volatile',
      '--data-dir',
      da,
      '--port',
      '0',
      '--api-port',
      '0',
      '--multicast',
      group,
    ]);
    peers.push(a);
    const b = await startPeer([
      '--volatile',
      '--data-dir',
      db,
      '--port',
      '0',
      '--api-port',
      '0',
      '--multicast',
      group,
      '--name',
      'bob',
    ]);
    peers.push(b);
    const auth = { authorization: `Bearer ${await token(da)}` };
    await vi.waitFor(
      async () => {
        const r = await http(`${a.ready.apiUrl}/api/peers`, { headers: auth });
        expect(r.json).toHaveLength(1);
      },
      { timeout: 10_000, interval: 200 },
    );
    await runCli(['verify', b.ready.peerId, '--data-dir', da]);

    const read = (lastId: string | undefined) =>
      new Promise<string>((resolve, reject) => {
        const ac = new AbortController();
        let text = '';
        fetch(`${a.ready.apiUrl}/api/events`, {
          headers: { ...auth, ...(lastId ? { 'last-event-id': lastId } : {}) },
          signal: ac.signal,
        })
          .then(async (res) => {
            const reader = res.body!.getReader();
            setTimeout(() => ac.abort(), 400);
            for (;;) {
              const { value, done } = await reader
                .read()
                .catch(() => ({ value: undefined, done: true }));
              if (done) break;
              text += new TextDecoder().decode(value);
            }
            resolve(text);
          })
          .catch(reject);
      });
    const all = await read(undefined);
    expect(all).toContain('event: peer');
    expect(all).toContain('"change":"discovered"');
    expect(all).toContain('"change":"trust"');
    const ids = [...all.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]);
    const resumed = await read(ids[0]);
    expect(resumed).not.toContain(`id: ${ids[0]}\n`);
    expect(resumed).toContain(`id: ${ids[1]}\n`);
  }, 40_000);
});
