/**
 * LAN discovery between real peers on this host, over loopback only (`--interface lo`, the
 * startPeer default, and `--host 127.0.0.1`): every test uses its own multicast group and port, so
 * parallel runs never hear each other — and mDNS, whose group and port are fixed, is kept apart by
 * the discovery domain in its TXT record.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { http } from '../support/http.js';
import { startPeer, type PeerProcess, uniqueMulticastGroup } from '../support/peer-process.js';

const peers: PeerProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.stop('SIGKILL')));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

interface Peer {
  readonly proc: PeerProcess;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  get(path: string): Promise<any>;
}

async function start(name: string, extra: readonly string[]): Promise<Peer> {
  const dir = await mkdtemp(join(tmpdir(), 'conclave-disc-'));
  dirs.push(dir);
  const proc = await startPeer([
    '--volatile',
    '--data-dir',
    dir,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--api-port',
    '0',
    '--name',
    name,
    ...extra,
  ]);
  peers.push(proc);
  const auth = {
    authorization: `Bearer ${(await readFile(join(dir, 'api-token'), 'utf8')).trim()}`,
  };
  return {
    proc,
    async get(path) {
      const r = await http(`${proc.ready.apiUrl}${path}`, { headers: auth });
      expect(r.status, r.text).toBe(200);
      return r.json;
    },
  };
}

async function expectFullMesh(all: readonly Peer[]): Promise<void> {
  for (const p of all) {
    const seen: Array<{ peerId: string; addresses: string[]; via: string }> =
      await p.get('/api/peers');
    const others = all.filter((o) => o !== p);
    expect(seen.map((v) => v.peerId).sort()).toEqual(others.map((o) => o.proc.ready.peerId).sort());
    for (const o of others) {
      const v = seen.find((x) => x.peerId === o.proc.ready.peerId);
      expect(v?.addresses).toEqual([o.proc.ready.peerUrl]);
      expect(['multicast', 'mdns']).toContain(v?.via);
    }
  }
}

describe('discovery on loopback', () => {
  it('two peers find each other, by beacons and by mDNS', async () => {
    const group = ['--multicast', uniqueMulticastGroup()];
    const all = await Promise.all([start('lo-a', group), start('lo-b', group)]);
    await vi.waitFor(() => expectFullMesh(all), { timeout: 10_000, interval: 200 });
    // mDNS verifies the other peer on its own, even where beacons got there first.
    await vi.waitFor(
      async () => {
        for (const p of all) {
          const d = await p.get('/api/diagnostics/discovery');
          expect(d.interfaces).toEqual([expect.objectContaining({ name: 'lo', verdict: 'ok' })]);
          expect(d.beaconsAccepted).toBeGreaterThan(0);
          expect(d.mdns.interfaces).toEqual([
            expect.objectContaining({ name: 'lo', address: '127.0.0.1', isBound: true }),
          ]);
          expect(d.mdns.verified).toBe(1);
        }
      },
      { timeout: 10_000, interval: 250 },
    );
  }, 30_000);

  it('three peers find each other', async () => {
    const group = ['--multicast', uniqueMulticastGroup()];
    const all = await Promise.all(['lo-1', 'lo-2', 'lo-3'].map((n) => start(n, group)));
    await vi.waitFor(() => expectFullMesh(all), { timeout: 10_000, interval: 200 });
  }, 30_000);

  it('peers in different discovery groups do not find each other, not even by mDNS', async () => {
    const [a, b] = await Promise.all([
      start('apart-a', ['--multicast', uniqueMulticastGroup()]),
      start('apart-b', ['--multicast', uniqueMulticastGroup()]),
    ]);
    // Long enough for both beacons (every ~2 s) and mDNS announcements (at 0 s and 1 s).
    await vi.waitFor(
      async () => {
        const d = await a.get('/api/diagnostics/discovery');
        expect(d.mdns.rejected['other-domain']).toBeGreaterThan(0);
      },
      { timeout: 10_000, interval: 250 },
    );
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await a.get('/api/peers')).toEqual([]);
    expect(await b.get('/api/peers')).toEqual([]);
  }, 30_000);

  it('finds a static --peer with discovery off', async () => {
    const a = await start('static-target', ['--multicast', uniqueMulticastGroup()]);
    const c = await start('static-client', ['--no-discovery', '--peer', a.proc.ready.peerUrl]);
    await vi.waitFor(
      async () => {
        expect(await c.get('/api/peers')).toEqual([
          expect.objectContaining({
            peerId: a.proc.ready.peerId,
            name: 'static-target',
            via: 'static',
            addresses: [a.proc.ready.peerUrl],
          }),
        ]);
      },
      { timeout: 10_000, interval: 200 },
    );
    const d = await c.get('/api/diagnostics/discovery');
    expect(d).toMatchObject({ enabled: false, mdns: { enabled: false } });
    expect(d.staticPeers).toEqual([
      { url: a.proc.ready.peerUrl, peerId: a.proc.ready.peerId, lastError: null },
    ]);
  }, 30_000);
});
