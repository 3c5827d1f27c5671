/**
 * LAN discovery between real `conclave serve` processes, one per network namespace on a private
 * bridge: multicast beacons and mDNS, expiry, packet loss, and mDNS alone when a "firewall" eats
 * the beacons. Needs root and `ip netns`; otherwise the whole file skips, loudly.
 */
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  createNetnsLab,
  namespacesOfThisRun,
  probeNetns,
  type LabNode,
  type NetnsLab,
} from '../support/netns.js';
import { nsGetJson, startLabPeer, type LabPeer } from '../support/netns-peer.js';

const probe = await probeNetns();
if (!probe.ok)
  console.warn(`\n*** NETNS DISCOVERY: SKIPPED (${probe.reason}); run as root on Linux ***\n`);

/** The diagnostics JSON, as far as these tests read it. */
interface Diagnostics {
  interfaces: Array<{ name: string; sent: number }>;
  beaconsSent: number;
  beaconsAccepted: number;
  mdns: { verified: number; interfaces: Array<{ sent: number; received: number }> };
}

interface PeerView {
  peerId: string;
  name: string;
  addresses: string[];
  via: string;
}

interface Running extends LabPeer {
  get(path: string): Promise<unknown>;
}

const BEACON_PORT = 7402;

/** A lab for one test, always torn down, with helpers that start peers and read their APIs. */
async function withLab(
  count: number,
  body: (lab: NetnsLab, start: (node: LabNode, name: string) => Promise<Running>) => Promise<void>,
): Promise<void> {
  const lab = await createNetnsLab(count);
  const dirs: string[] = [];
  const peers: Running[] = [];
  const start = async (node: LabNode, name: string): Promise<Running> => {
    const p = await startLabPeer(lab, node, name, dirs);
    const running: Running = {
      ...p,
      async get(path) {
        const r = await nsGetJson(lab, node.ns, `${p.ready.apiUrl}${path}`, {
          authorization: `Bearer ${p.token}`,
        });
        if (r.status !== 200) throw new Error(`${path} → ${r.status} ${JSON.stringify(r.json)}`);
        return r.json;
      },
    };
    peers.push(running);
    return running;
  };
  try {
    await body(lab, start);
  } finally {
    await Promise.all(peers.map((p) => p.stop('SIGKILL')));
    await lab.destroy();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

async function peersSeenBy(p: Running): Promise<PeerView[]> {
  return (await p.get('/api/peers')) as PeerView[];
}

/** Every peer lists exactly the others, with their ids and peer-API URLs. */
async function expectFullMesh(peers: readonly Running[], vias: readonly string[]): Promise<void> {
  for (const p of peers) {
    const seen = await peersSeenBy(p);
    const others = peers.filter((o) => o !== p);
    expect(seen.map((v) => v.peerId).sort()).toEqual(others.map((o) => o.ready.peerId).sort());
    for (const o of others) {
      const v = seen.find((x) => x.peerId === o.ready.peerId);
      expect(v?.addresses).toEqual([`http://${o.node.address}:7400`]);
      expect(vias).toContain(v?.via);
    }
  }
}

/** Each peer's diagnostics: beacons sent and heard on its veth, and mDNS verified every other. */
async function expectBothMethods(peers: readonly Running[]): Promise<void> {
  for (const p of peers) {
    const d = (await p.get('/api/diagnostics/discovery')) as Diagnostics;
    expect(d.interfaces).toEqual([
      expect.objectContaining({ name: p.node.iface, address: p.node.address, verdict: 'ok' }),
    ]);
    expect(d.interfaces[0]?.sent).toBeGreaterThan(0);
    expect(d.beaconsSent).toBeGreaterThan(0);
    expect(d.beaconsAccepted).toBeGreaterThan(0);
    expect(d.mdns.interfaces).toEqual([
      expect.objectContaining({ name: p.node.iface, isBound: true, isJoined: true }),
    ]);
    expect(d.mdns.interfaces[0]?.sent).toBeGreaterThan(0);
    expect(d.mdns.interfaces[0]?.received).toBeGreaterThan(0);
    expect(d.mdns.verified).toBe(peers.length - 1);
  }
}

/** Send `count` small datagrams from `ns` to `address` (a lab address) to measure loss. */
async function udpBurst(lab: NetnsLab, ns: string, address: string, count: number): Promise<void> {
  const script =
    "const s=require('node:dgram').createSocket('udp4');const [a,n]=process.argv.slice(1);let i=0;" +
    'const t=()=>{if(i++>=Number(n)){s.close();return}s.send(Buffer.alloc(16),9,a,()=>setImmediate(t))};t()';
  const r = await lab.run(ns, process.execPath, ['-e', script, address, String(count)]);
  expect(r.code, r.stderr).toBe(0);
}

afterAll(async () => {
  if (probe.ok) expect(await namespacesOfThisRun()).toEqual([]);
});

describe.skipIf(!probe.ok)('discovery across network namespaces', () => {
  it('three peers find each other, report it in diagnostics, and drop one that dies', async () => {
    await withLab(3, async (lab, start) => {
      const peers = await Promise.all(lab.nodes.map((n, i) => start(n, `p${i + 1}`)));
      const t0 = Date.now();
      await vi.waitFor(() => expectFullMesh(peers, ['multicast', 'mdns']), {
        timeout: 15_000,
        interval: 250,
      });
      console.info(`netns: 3 peers found each other in ${Date.now() - t0} ms`);

      await vi.waitFor(() => expectBothMethods(peers), { timeout: 10_000, interval: 250 });

      const [p1, p2, p3] = peers as [Running, Running, Running];
      await p3.stop('SIGKILL'); // no goodbye: both methods must notice by themselves
      const t1 = Date.now();
      await vi.waitFor(
        async () => {
          for (const p of [p1, p2])
            expect((await peersSeenBy(p)).map((v) => v.peerId)).not.toContain(p3.ready.peerId);
        },
        { timeout: 25_000, interval: 500 },
      );
      const tookMs = Date.now() - t1;
      console.info(`netns: a killed peer was dropped after ${tookMs} ms`);
      expect(tookMs).toBeGreaterThan(4_000); // by expiry, not by accident
      await expectFullMesh([p1, p2], ['multicast', 'mdns']);
    });
  }, 60_000);

  it('completes with 5 % packet loss on every veth', async (ctx) => {
    await withLab(3, async (lab, start) => {
      if (!lab.loss.ok) {
        console.warn(`\n*** NETNS PACKET LOSS: SKIPPED (${lab.loss.reason}) ***\n`);
        ctx.skip();
      }
      console.info(`netns: packet loss by ${lab.loss.reason}`);
      for (const n of lab.nodes) await lab.setLoss(n.ns, 5);
      // The loss is real: ~5 % of a burst of datagrams never leaves each namespace.
      const burst = 400;
      await Promise.all(
        lab.nodes.map((n, i) =>
          udpBurst(lab, n.ns, lab.nodes[(i + 1) % lab.nodes.length]!.address, burst),
        ),
      );
      const dropped = await Promise.all(lab.nodes.map((n) => lab.droppedPackets(n.ns)));
      console.info(`netns: of ${burst} datagrams per veth, dropped ${dropped.join(', ')}`);
      for (const d of dropped) expect(d).toBeGreaterThan(0);
      for (const d of dropped) expect(d).toBeLessThan(burst * 0.15);
      const peers = await Promise.all(lab.nodes.map((n, i) => start(n, `lossy${i + 1}`)));
      const t0 = Date.now();
      await vi.waitFor(() => expectFullMesh(peers, ['multicast', 'mdns']), {
        timeout: 20_000,
        interval: 250,
      });
      await vi.waitFor(() => expectBothMethods(peers), { timeout: 15_000, interval: 250 });
      console.info(`netns: with 5 % loss, 3 peers found each other in ${Date.now() - t0} ms`);
    });
  }, 45_000);

  it('finds peers through mDNS alone when beacons are dropped, and drops one that says goodbye', async (ctx) => {
    await withLab(2, async (lab, start) => {
      if (!lab.filters.ok) {
        console.warn(`\n*** NETNS MDNS-ONLY: SKIPPED (${lab.filters.reason}) ***\n`);
        ctx.skip();
      }
      for (const n of lab.nodes) await lab.dropUdpTo(n.ns, BEACON_PORT);
      const [a, b] = await Promise.all(lab.nodes.map((n, i) => start(n, `m${i + 1}`)));
      await vi.waitFor(() => expectFullMesh([a!, b!], ['mdns']), {
        timeout: 15_000,
        interval: 250,
      });
      const d = (await a!.get('/api/diagnostics/discovery')) as Diagnostics;
      expect(d.beaconsSent).toBeGreaterThan(0);
      expect(d.beaconsAccepted).toBe(0);
      expect(d.mdns).toMatchObject({ enabled: true, verified: 1, owned: 1 });

      expect(await b!.stop('SIGTERM')).toBe(0);
      const t1 = Date.now();
      await vi.waitFor(async () => expect(await peersSeenBy(a!)).toEqual([]), {
        timeout: 5_000,
        interval: 200,
      });
      console.info(`netns: an mDNS goodbye dropped the peer after ${Date.now() - t1} ms`);
    });
  }, 45_000);
});
