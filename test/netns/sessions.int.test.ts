/**
 * Handshakes, sealed requests, push frames and re-keying between real peers, one per network
 * namespace on a private bridge, found by discovery. Needs root and `ip netns`; otherwise skips loudly.
 */
import { rm } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { createNetnsLab, probeNetns } from '../support/netns.js';
import { nsRequestJson, startLabPeer, type LabPeer } from '../support/netns-peer.js';

const probe = await probeNetns();
if (!probe.ok)
  console.warn(`\n*** NETNS SESSIONS: SKIPPED (${probe.reason}); run as root on Linux ***\n`);

describe.skipIf(!probe.ok)('sessions across three network namespaces', () => {
  it('three peers discover each other, handshake pairwise, exchange sealed requests and push frames, and re-key', async () => {
    const lab = await createNetnsLab(3);
    const dirs: string[] = [];
    const peers: Array<LabPeer & { ns: string }> = [];
    try {
      for (const [i, node] of lab.nodes.entries()) {
        const p = await startLabPeer(lab, node, `p${i + 1}`, dirs, ['--rekey-after', '4']);
        peers.push({ ...p, ns: node.ns });
      }
      const call = (
        p: (typeof peers)[number],
        method: 'GET' | 'POST',
        path: string,
        body?: unknown,
      ) =>
        nsRequestJson(
          lab,
          p.ns,
          method,
          `${p.ready.apiUrl}${path}`,
          { authorization: `Bearer ${p.token}` },
          body,
        );

      await vi.waitFor(
        async () => {
          for (const p of peers)
            expect(((await call(p, 'GET', '/api/peers')).json as unknown[]).length).toBe(2);
        },
        { timeout: 20_000, interval: 500 },
      );

      const pairs: Array<[number, number]> = [
        [0, 1],
        [1, 2],
        [2, 0],
      ];
      for (const [from, to] of pairs) {
        const a = peers[from]!;
        const b = peers[to]!;
        const c = await call(a, 'POST', '/api/peers/connect', {
          peerId: b.ready.peerId.slice(0, 12),
        });
        expect(c.status, JSON.stringify(c.json)).toBe(200);
        expect(c.json).toMatchObject({ peerId: b.ready.peerId, link: 'up' });
        let epoch = 0;
        for (let i = 0; i < 9; i++) {
          const r = await call(a, 'POST', `/api/peers/${b.ready.peerId}/ping`, {});
          expect(r.status, JSON.stringify(r.json)).toBe(200);
          epoch = (r.json as { epoch: number }).epoch;
        }
        expect(epoch).toBeGreaterThanOrEqual(1);
        const push = await call(a, 'POST', `/api/peers/${b.ready.peerId}/ping?via=push`, {});
        expect(push.status, JSON.stringify(push.json)).toBe(200);
        // the responder sees the same session and SAS
        const seen = (await call(b, 'GET', '/api/peers')).json as Array<{
          peerId: string;
          session: { sas: string } | null;
        }>;
        expect(seen.find((v) => v.peerId === a.ready.peerId)?.session?.sas).toBe(
          (c.json as { sas: string }).sas,
        );
      }
    } finally {
      await Promise.all(peers.map((p) => p.stop('SIGKILL')));
      await lab.destroy();
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    }
  }, 90_000);
});
