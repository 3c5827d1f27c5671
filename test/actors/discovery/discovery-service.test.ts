import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import {
  createDiscoveryService,
  type DiscoveryService,
} from '../../../src/actors/discovery/discovery-service.js';
import {
  exportPublicKey,
  generateIdentity,
  sign,
  SignatureDomains,
  toBase64Url,
} from '../../../src/crypto/index.js';
import { discoveryMachine, type DiscoveryEvent } from '../../../src/machines/discovery.machine.js';
import { beaconSigningFields, type UnsignedBeacon } from '../../../src/protocol/beacon.codec.js';
import { createFakeBus } from '../../support/fake-multicast.js';

const services: DiscoveryService[] = [];
afterEach(() => services.splice(0).forEach((s) => s.stop()));

/** A beacon `id` signs, with the fields a test varies; `sig` apart so tests can forge it. */
function signedBeacon(
  id: Awaited<ReturnType<typeof generateIdentity>>,
  f: { name: string; addrs: string[]; ts: number; seq: number },
): { unsigned: UnsignedBeacon; sig: string } {
  const unsigned: UnsignedBeacon = {
    v: 1,
    type: 'beacon',
    peerId: id.fingerprint,
    kind: 'ed25519',
    publicKey: exportPublicKey(id),
    port: 7400,
    rooms: [],
    ...f,
  };
  const sig = toBase64Url(
    sign(id.privateKey, SignatureDomains.beacon, beaconSigningFields(unsigned)),
  );
  return { unsigned, sig };
}

/** `hear(id, from, at)`: a valid beacon of `id` from `from`, received at `at`, on `bus`. */
function beaconsOn(bus: ReturnType<typeof createFakeBus>) {
  let seq = 0;
  return (id: Awaited<ReturnType<typeof generateIdentity>>, from: string, at: number): void => {
    const { unsigned, sig } = signedBeacon(id, { name: 'x', addrs: [from], ts: at, seq: seq++ });
    bus.inject(Buffer.from(JSON.stringify({ ...unsigned, sig })), from, at);
  };
}

/** Peer "a" on the bus, listening with a long beacon interval; started and stopped with the test. */
function listener(
  bus: ReturnType<typeof createFakeBus>,
  identity: Awaited<ReturnType<typeof generateIdentity>>,
  send: (e: DiscoveryEvent) => void,
  maxPeers?: number,
): DiscoveryService {
  const s = createDiscoveryService(
    {
      identity,
      name: 'a',
      peerPort: 1,
      addresses: ['127.0.0.1'],
      intervalMs: 60_000,
      ...(maxPeers !== undefined ? { maxPeers } : {}),
    },
    { multicast: bus.join('127.0.0.1'), send, rooms: () => [] },
  );
  services.push(s);
  s.start();
  return s;
}

describe('discovery service', () => {
  it('two peers on one bus find each other and tell their actor only about changes', async () => {
    const bus = createFakeBus();
    const [a, b] = await Promise.all([generateIdentity('ed25519'), generateIdentity('ed25519')]);
    const eventsA: DiscoveryEvent[] = [];
    const actorA = createActor(discoveryMachine, {
      input: { stream: 'discovery', selfPeerId: a.fingerprint, maxPeers: 10 },
    }).start();
    const sa = createDiscoveryService(
      { identity: a, name: 'a', peerPort: 7400, addresses: ['127.0.0.1'], intervalMs: 20 },
      {
        multicast: bus.join('127.0.0.1'),
        send: (e) => {
          eventsA.push(e);
          actorA.send(e);
        },
        rooms: () => [],
      },
    );
    const sb = createDiscoveryService(
      { identity: b, name: 'b', peerPort: 7500, addresses: ['127.0.0.2'], intervalMs: 20 },
      { multicast: bus.join('127.0.0.2'), send: () => undefined, rooms: () => [] },
    );
    services.push(sa, sb);
    sa.start();
    sb.start();
    await new Promise((r) => setTimeout(r, 150));
    expect(actorA.getSnapshot().context.peers[b.fingerprint]).toMatchObject({
      name: 'b',
      urls: ['http://127.0.0.2:7500'],
      via: 'multicast',
    });
    expect(sa.stats().beaconsAccepted).toBeGreaterThan(2);
    // Many beacons arrived, but the actor accepted one change (the others changed nothing).
    const before = actorA.getSnapshot();
    actorA.send(eventsA.at(-1)!);
    expect(actorA.getSnapshot()).toBe(before);
  });

  it('builds peer URLs only from IPv4 literals in a beacon (else from the sender)', async () => {
    const bus = createFakeBus();
    const [a, b, c] = await Promise.all([
      generateIdentity('ed25519'),
      generateIdentity('ed25519'),
      generateIdentity('ed25519'),
    ]);
    const actorA = createActor(discoveryMachine, {
      input: { stream: 'discovery', selfPeerId: a.fingerprint, maxPeers: 10 },
    }).start();
    const sa = createDiscoveryService(
      { identity: a, name: 'a', peerPort: 7400, addresses: ['127.0.0.1'], intervalMs: 20 },
      { multicast: bus.join('127.0.0.1'), send: (e) => actorA.send(e), rooms: () => [] },
    );
    // Signed, but naming hosts this peer would post handshakes to: only the literal counts.
    const sb = createDiscoveryService(
      {
        identity: b,
        name: 'b',
        peerPort: 7500,
        addresses: ['metadata.google.internal', '127.0.0.1:7401/api?', '127.0.0.2'],
        intervalMs: 20,
      },
      { multicast: bus.join('127.0.0.2'), send: () => undefined, rooms: () => [] },
    );
    const sc = createDiscoveryService(
      { identity: c, name: 'c', peerPort: 7600, addresses: ['intranet.local'], intervalMs: 20 },
      { multicast: bus.join('127.0.0.3'), send: () => undefined, rooms: () => [] },
    );
    services.push(sa, sb, sc);
    for (const s of [sa, sb, sc]) s.start();
    await new Promise((r) => setTimeout(r, 150));
    const peers = actorA.getSnapshot().context.peers;
    expect(peers[b.fingerprint]?.urls).toEqual(['http://127.0.0.2:7500']);
    expect(peers[c.fingerprint]?.urls).toEqual(['http://127.0.0.3:7600']);
  });

  it('expires a peer that stops sending', async () => {
    const bus = createFakeBus();
    const [a, b] = await Promise.all([generateIdentity('ed25519'), generateIdentity('ed25519')]);
    const seen: string[] = [];
    const sa = createDiscoveryService(
      {
        identity: a,
        name: 'a',
        peerPort: 1,
        addresses: ['127.0.0.1'],
        intervalMs: 1_000,
        ttlMs: 100,
      },
      { multicast: bus.join('127.0.0.1'), send: (e) => seen.push(e.type), rooms: () => [] },
    );
    const sb = createDiscoveryService(
      { identity: b, name: 'b', peerPort: 2, addresses: ['127.0.0.2'], intervalMs: 10_000 },
      { multicast: bus.join('127.0.0.2'), send: () => undefined, rooms: () => [] },
    );
    services.push(sa);
    sa.start();
    sb.start();
    sb.stop();
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual(['peer.seen', 'peer.expired']);
  });

  it('survives 10 000 forged beacons with a bounded table and counters that add up', async () => {
    const bus = createFakeBus();
    const a = await generateIdentity('ed25519');
    const sybil = await Promise.all(Array.from({ length: 40 }, () => generateIdentity('ed25519')));
    const maxPeers = 16;
    const actor = createActor(discoveryMachine, {
      input: { stream: 'discovery', selfPeerId: a.fingerprint, maxPeers },
    }).start();
    const sa = listener(bus, a, (e) => actor.send(e), maxPeers);
    const now = Date.now();
    let n = 0;
    const kinds = { garbage: 0, badSig: 0, spoofed: 0, sybil: 0 };
    for (let i = 0; i < 10_000; i++) {
      const from = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const id = sybil[i % sybil.length]!;
      const { unsigned, sig } = signedBeacon(id, { name: `s${i}`, addrs: [from], ts: now, seq: i });
      switch (i % 4) {
        case 0:
          bus.inject(randomBytes(200), from, now);
          kinds.garbage++;
          break;
        case 1:
          bus.inject(
            Buffer.from(JSON.stringify({ ...unsigned, sig: toBase64Url(randomBytes(64)) })),
            from,
            now,
          );
          kinds.badSig++;
          break;
        case 2:
          bus.inject(
            Buffer.from(JSON.stringify({ ...unsigned, peerId: '0'.repeat(64), sig })),
            from,
            now,
          );
          kinds.spoofed++;
          break;
        default:
          bus.inject(Buffer.from(JSON.stringify({ ...unsigned, sig })), from, now);
          kinds.sybil++;
      }
      n++;
    }
    const st = sa.stats();
    expect(n).toBe(10_000);
    expect(st.dropped.malformed).toBe(kinds.garbage);
    expect(st.dropped['bad-signature']).toBe(kinds.badSig);
    expect(st.dropped.spoofed).toBe(kinds.spoofed);
    // every sybil beacon verified; only maxPeers of them made it into the table
    expect(st.beaconsAccepted + st.dropped.replayed).toBeLessThanOrEqual(kinds.sybil);
    expect(st.tableSize).toBeLessThanOrEqual(maxPeers);
    expect(Object.keys(actor.getSnapshot().context.peers).length).toBeLessThanOrEqual(maxPeers);
  });

  it('counts the valid beacons of new peers a full table cannot take (table-full)', async () => {
    const bus = createFakeBus();
    const ids = await Promise.all(Array.from({ length: 4 }, () => generateIdentity('ed25519')));
    const [a, ...others] = ids as [(typeof ids)[0], ...typeof ids];
    const sa = listener(bus, a, () => undefined, 2);
    others.forEach((id, i) => {
      const s = createDiscoveryService(
        {
          identity: id,
          name: `p${i}`,
          peerPort: 7400,
          addresses: [`127.0.0.${i + 2}`],
          intervalMs: 20,
        },
        { multicast: bus.join(`127.0.0.${i + 2}`), send: () => undefined, rooms: () => [] },
      );
      services.push(s);
      s.start();
    });
    await new Promise((r) => setTimeout(r, 150));
    const st = sa.stats();
    expect(st.tableSize).toBe(2);
    expect(st.dropped['table-full']).toBeGreaterThan(0);
  });

  it('a full table of unpinned keys makes room for a pinned peer, dropping the stalest unpinned one', async () => {
    const bus = createFakeBus();
    const gen = () => generateIdentity('ed25519');
    const [a, s1, s2, s3, pinned, blocked, stranger] = await Promise.all([
      gen(),
      gen(),
      gen(),
      gen(),
      gen(),
      gen(),
      gen(),
    ]);
    const maxPeers = 3;
    const actor = createActor(discoveryMachine, {
      input: { stream: 'discovery', selfPeerId: a.fingerprint, maxPeers },
    }).start();
    const events: DiscoveryEvent[] = [];
    const sa = createDiscoveryService(
      {
        identity: a,
        name: 'a',
        peerPort: 1,
        addresses: ['127.0.0.1'],
        intervalMs: 60_000,
        maxPeers,
      },
      {
        multicast: bus.join('127.0.0.1'),
        send: (e) => {
          events.push(e);
          actor.send(e);
        },
        rooms: () => [],
        isPinned: (id) => id === pinned.fingerprint,
      },
    );
    services.push(sa);
    sa.start();
    const t0 = Date.now();
    const hear = beaconsOn(bus);
    // Three throwaway keys fill the table; s1 is heard again last, so s2 is now the stalest.
    hear(s1, '10.0.0.1', t0);
    hear(s2, '10.0.0.2', t0 + 1);
    hear(s3, '10.0.0.3', t0 + 2);
    hear(s1, '10.0.0.1', t0 + 3);
    expect(sa.stats().tableSize).toBe(3);
    // Newcomers without a pin (and a blocked one: no pin that counts) are still turned away.
    hear(stranger, '10.0.0.4', t0 + 4);
    hear(blocked, '10.0.0.5', t0 + 5);
    expect(sa.stats().dropped['table-full']).toBe(2);
    expect(sa.stats().evicted).toBe(0);
    // The pinned peer gets in: s2 goes, with a peer.expired the actor sees first.
    hear(pinned, '10.0.0.6', t0 + 6);
    const st = sa.stats();
    expect(st.tableSize).toBe(3);
    expect(st.evicted).toBe(1);
    expect(Object.keys(st.lastHeardAt).sort()).toEqual(
      [s1.fingerprint, s3.fingerprint, pinned.fingerprint].sort(),
    );
    expect(events.slice(-2).map((e) => [e.type, e.peerId])).toEqual([
      ['peer.expired', s2.fingerprint],
      ['peer.seen', pinned.fingerprint],
    ]);
    expect(Object.keys(actor.getSnapshot().context.peers).sort()).toEqual(
      [s1.fingerprint, s3.fingerprint, pinned.fingerprint].sort(),
    );
    // A table full of pinned peers only has nothing to give: the pinned newcomer waits.
    const onlyPinned = createDiscoveryService(
      {
        identity: a,
        name: 'a',
        peerPort: 1,
        addresses: ['127.0.0.1'],
        intervalMs: 60_000,
        maxPeers: 1,
      },
      {
        multicast: bus.join('127.0.0.2'),
        send: () => undefined,
        rooms: () => [],
        isPinned: () => true,
      },
    );
    services.push(onlyPinned);
    onlyPinned.start();
    hear(s3, '10.0.0.3', t0 + 7);
    hear(pinned, '10.0.0.6', t0 + 8);
    expect(onlyPinned.stats().tableSize).toBe(1);
    expect(onlyPinned.stats().lastHeardAt[s3.fingerprint]).toBeDefined();
    expect(onlyPinned.stats().evicted).toBe(0);
    expect(onlyPinned.stats().dropped['table-full']).toBe(1);
  });

  it('makes room for a pinned peer in the discovery table it shares with mDNS and static peers', async () => {
    const bus = createFakeBus();
    const gen = () => generateIdentity('ed25519');
    const [a, stat, s1, s2, pinned] = await Promise.all([gen(), gen(), gen(), gen(), gen()]);
    const maxPeers = 3; // the runtime's table and the beacon table share one limit (512)
    const actor = createActor(discoveryMachine, {
      input: { stream: 'discovery', selfPeerId: a.fingerprint, maxPeers },
    }).start();
    const peers = () => actor.getSnapshot().context.peers;
    // A --peer URL (static discovery) the table holds besides the beacons.
    actor.send({
      type: 'peer.seen',
      peerId: stat.fingerprint,
      name: 'static',
      kind: 'ed25519',
      urls: ['http://10.0.0.9:7400'],
      rooms: [],
      via: 'static',
      at: new Date().toISOString(),
    });
    const sa = createDiscoveryService(
      {
        identity: a,
        name: 'a',
        peerPort: 1,
        addresses: ['127.0.0.1'],
        intervalMs: 60_000,
        maxPeers,
      },
      {
        multicast: bus.join('127.0.0.1'),
        send: (e) => actor.send(e),
        rooms: () => [],
        isPinned: (id) => id === pinned.fingerprint,
        shared: {
          isFull: () => Object.keys(peers()).length >= maxPeers,
          has: (id) => peers()[id] !== undefined,
        },
      },
    );
    services.push(sa);
    sa.start();
    const t0 = Date.now();
    const hear = beaconsOn(bus);
    hear(s1, '10.0.0.1', t0);
    hear(s2, '10.0.0.2', t0 + 1); // the shared table is full (static + 2); the beacon table is not
    hear(pinned, '10.0.0.6', t0 + 2);
    expect(Object.keys(peers()).sort()).toEqual(
      [stat.fingerprint, s2.fingerprint, pinned.fingerprint].sort(),
    );
    expect(sa.stats().evicted).toBe(1);
  });

  it('passes on at most a few changes of one peer at once, then one per 5 s', async () => {
    const bus = createFakeBus();
    const [a, m] = await Promise.all([generateIdentity('ed25519'), generateIdentity('ed25519')]);
    const seen: DiscoveryEvent[] = [];
    const sa = listener(bus, a, (e) => seen.push(e));
    // One key renaming itself in every beacon, 200 beacons over 10 s (rate limits per source
    // are per address: each comes from its own).
    const t0 = Date.now();
    for (let i = 0; i < 200; i++) {
      const at = t0 + i * 50;
      const { unsigned, sig } = signedBeacon(m, {
        name: `m${i}`,
        addrs: ['10.0.0.9'],
        ts: at,
        seq: i,
      });
      bus.inject(
        Buffer.from(JSON.stringify({ ...unsigned, sig })),
        `10.1.${i >> 8}.${i & 255}`,
        at,
      );
    }
    const changes = seen.filter((e) => e.type === 'peer.seen' && e.peerId === m.fingerprint);
    // the first sighting, a burst of 3, then one per 5 s over 10 s: 1 + 3 + 1 (at 5 s)
    expect(changes.length).toBeGreaterThanOrEqual(4);
    expect(changes.length).toBeLessThanOrEqual(6);
    expect(sa.stats().lastHeardAt[m.fingerprint]).toBe(t0 + 199 * 50);
  });
});
