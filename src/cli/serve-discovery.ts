/**
 * Wires LAN discovery into a serving peer: multicast beacons and mDNS/DNS-SD on the chosen
 * interfaces, static `--peer` URLs, and the diagnostics view of all three.
 */
import { networkInterfaces } from 'node:os';
import {
  createDiscoveryService,
  type DiscoveryService,
} from '../actors/discovery/discovery-service.js';
import { createStaticPeers } from '../actors/discovery/static-peers.js';
import { DEFAULT_MAX_PEERS, type PeerRuntime } from '../actors/peer-runtime.js';
import type { Identity } from '../crypto/index.js';
import { AppError } from '../errors.js';
import { peerRequest } from '../transport/http/peer-client.js';
import { openBonjourPort, type MdnsPort } from '../transport/mdns/bonjour-port.js';
import { createMdnsDiscovery, type MdnsDiscovery } from '../transport/mdns/mdns-discovery.js';
import { listIpv4Interfaces, type DiscoveryInterface } from '../transport/multicast/interfaces.js';
import { openMulticast, type Multicast } from '../transport/multicast/udp-multicast.js';
import type { ServeConfig } from './serve-config.js';
import type { AdvertisedRoom } from '../protocol/beacon.codec.js';

export interface RunningDiscovery {
  diagnostics(): unknown;
  /** Send a beacon now (our rooms changed). */
  announce(): void;
  lastSeen(peerId: string): number | undefined;
  close(): Promise<void>;
}

function advertisedAddresses(
  host: string,
  interfaces: ReturnType<typeof listIpv4Interfaces>,
): string[] {
  if (host !== '0.0.0.0') return [host];
  const all = listIpv4Interfaces();
  const seen = new Set<string>();
  // Non-loopback first: other machines can use those; peers on this machine use any of them.
  for (const i of [...interfaces, ...all].sort(
    (a, b) => Number(a.isLoopback) - Number(b.isLoopback),
  ))
    seen.add(i.address);
  return [...seen];
}

function hints(status: ReturnType<Multicast['status']>[number], heard: number): string[] {
  const out: string[] = [];
  if (!status.isJoined)
    out.push(
      'could not join the multicast group here; check the interface is up and has a multicast route',
    );
  if (!status.isSending) out.push('could not send here; check the address is still assigned');
  if (status.sendErrors > 0)
    out.push('sends are failing; a firewall may drop multicast (allow UDP to the group and port)');
  if (heard === 0)
    out.push(
      'no beacons heard yet; other peers must use the same --multicast GROUP:PORT and be on this network',
    );
  return out;
}

function prefixLength(i: DiscoveryInterface): number {
  const cidr = networkInterfaces()[i.name]?.find((a) => a.address === i.address)?.cidr;
  const n = Number(cidr?.split('/')[1]);
  return Number.isInteger(n) ? n : 32;
}

function mdnsHints(s: ReturnType<MdnsPort['status']>): string[] {
  const out: string[] = [];
  if (!s.isBound)
    out.push(
      'could not bind UDP 5353; another mDNS responder (avahi) may hold it without SO_REUSEADDR',
    );
  if (!s.isJoined) out.push('could not join 224.0.0.251 here; check the multicast route');
  if (s.refused > 0) out.push('some mDNS sends were refused: no multicast interface could be set');
  return out;
}

async function fetchHello(baseUrl: string): Promise<unknown> {
  const r = await peerRequest(baseUrl, 'GET', '/p2p/v1/hello', undefined, {
    timeoutMs: 2_000,
    maxBytes: 16_384,
  });
  if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
  return r.body;
}

function startMdns(
  config: ServeConfig,
  deps: { identity: Identity; runtime: PeerRuntime; peerPort: number },
  interfaces: readonly DiscoveryInterface[],
  isFreshElsewhere: (peerId: string) => boolean,
): MdnsDiscovery {
  const mdns = createMdnsDiscovery(
    {
      selfPeerId: deps.identity.fingerprint,
      name: config.name,
      kind: deps.identity.kind,
      peerPort: deps.peerPort,
      domain: config.multicast,
    },
    {
      ports: interfaces.map((i) =>
        openBonjourPort({ name: i.name, address: i.address, prefixLength: prefixLength(i) }),
      ),
      fetchHello,
      send: (e) => deps.runtime.discovered(e),
      isKnown: (id) => deps.runtime.knownPeers().some((p) => p.peerId === id),
      isFreshElsewhere,
    },
  );
  mdns.start();
  return mdns;
}

export async function startDiscovery(
  config: ServeConfig,
  deps: {
    identity: Identity;
    runtime: PeerRuntime;
    peerPort: number;
    /** Rooms this peer hosts, advertised in beacons. */
    rooms?: () => readonly AdvertisedRoom[];
  },
): Promise<RunningDiscovery> {
  const staticPeers = createStaticPeers(
    { urls: config.peers, selfPeerId: deps.identity.fingerprint },
    (e) => deps.runtime.discovered(e),
  );
  staticPeers.start();
  let multicast: Multicast | undefined;
  let service: DiscoveryService | undefined;
  let mdns: MdnsDiscovery | undefined;
  if (config.isDiscoveryOn) {
    const [group = '', portText = ''] = config.multicast.split(':');
    const interfaces = listIpv4Interfaces(config.interface);
    if (interfaces.length === 0)
      throw new AppError(
        'ERR_INVALID_CONFIG',
        'no IPv4 interface for discovery; use --no-discovery or --peer URL',
      );
    multicast = await openMulticast({ group, port: Number(portText), interfaces });
    service = createDiscoveryService(
      {
        identity: deps.identity,
        name: config.name,
        peerPort: deps.peerPort,
        addresses: advertisedAddresses(config.host, interfaces),
      },
      {
        multicast,
        send: (e) => deps.runtime.discovered(e),
        rooms: deps.rooms ?? (() => []),
        isPinned: (id) => {
          const pin = deps.runtime.pins()[id];
          return pin !== undefined && pin.state !== 'blocked';
        },
        shared: {
          isFull: () => deps.runtime.knownPeers().length >= DEFAULT_MAX_PEERS,
          has: (id) => deps.runtime.knownPeers().some((p) => p.peerId === id),
        },
      },
    );
    service.start();
    const beacons = service;
    mdns = startMdns(
      config,
      deps,
      interfaces,
      (id) =>
        beacons.stats().lastHeardAt[id] !== undefined ||
        staticPeers.status().some((s) => s.peerId === id),
    );
  }
  return {
    announce: () => service?.announce(),
    diagnostics() {
      const stats = service?.stats();
      return {
        enabled: config.isDiscoveryOn,
        group: config.multicast,
        interfaces: (multicast?.status() ?? []).map((s) => {
          const heard = stats?.beaconsAccepted ?? 0;
          return {
            ...s,
            heard,
            verdict: s.isJoined && s.isSending && s.sendErrors === 0 ? 'ok' : 'failing',
            hints: hints(s, heard),
          };
        }),
        beaconsSent: stats?.beaconsSent ?? 0,
        beaconsAccepted: stats?.beaconsAccepted ?? 0,
        dropped: stats?.dropped ?? {},
        evicted: stats?.evicted ?? 0,
        staticPeers: staticPeers.status(),
        mdns: mdnsDiagnostics(mdns),
      };
    },
    lastSeen(peerId) {
      const times = [service?.stats().lastHeardAt[peerId], mdns?.lastSeen(peerId)].filter(
        (t): t is number => t !== undefined,
      );
      return times.length > 0 ? Math.max(...times) : undefined;
    },
    async close() {
      staticPeers.stop();
      service?.stop();
      await Promise.all([multicast?.close(), mdns?.stop()]);
    },
  };
}

function mdnsDiagnostics(mdns: MdnsDiscovery | undefined): unknown {
  if (!mdns) return { enabled: false };
  const { interfaces, ...rest } = mdns.stats();
  return {
    enabled: true,
    service: '_conclave._tcp',
    interfaces: interfaces.map((s) => ({
      ...s,
      verdict: s.isBound && s.isJoined && s.refused === 0 ? 'ok' : 'failing',
      hints: mdnsHints(s),
    })),
    ...rest,
  };
}
