/**
 * LAN discovery through mDNS/DNS-SD, beside the multicast beacons: publishes `_conclave._tcp`
 * with TXT `{v, id, kind, d}` on our peer-API port and browses for the same type. A found service
 * is only a hint — its TXT is unsigned — so we ask it for `GET /p2p/v1/hello`, and only when the
 * answer's peer id is the fingerprint of its public key and equals the TXT id does the discovery
 * actor get a `peer.seen` (via `mdns`).
 *
 * Ownership, the simplest honest rule: mDNS expires only the peers it added itself (those the
 * actor did not know when mDNS verified them), and not while another method (multicast beacons,
 * a static peer) still vouches for the peer. An owned peer is re-asked for its hello now and then,
 * since a crashed peer sends no goodbye and DNS-SD record TTLs run for hours.
 */
import type { DiscoveryEvent } from '../../machines/discovery.machine.js';
import type { MdnsFoundService, MdnsInterfaceStatus, MdnsPort } from './bonjour-port.js';
import {
  buildTxt,
  candidateUrls,
  hostName,
  instanceName,
  parseTxt,
  type MdnsRejectReason,
  type MdnsTxt,
} from './mdns-records.js';
import { checkHello } from '../http/peer-hello.js';

export interface MdnsDiscoveryInit {
  readonly selfPeerId: string;
  readonly name: string;
  readonly kind: 'ed25519' | 'rsa';
  readonly peerPort: number;
  /** The discovery domain (`--multicast GROUP:PORT`): only peers in the same one are found. */
  readonly domain: string;
  /** How often owned peers are re-asked, and the tick of everything else (default 5 s). */
  readonly recheckMs?: number;
  /** Failed re-asks in a row before an owned peer expires (default 2). */
  readonly failuresBeforeExpiry?: number;
  /** Most services tracked at once (default 256). */
  readonly maxServices?: number;
}

export interface MdnsDiscoveryDeps {
  readonly ports: readonly MdnsPort[];
  /** `GET {baseUrl}/p2p/v1/hello` → the JSON body; rejects when unreachable or not 200. */
  readonly fetchHello: (baseUrl: string) => Promise<unknown>;
  readonly send: (event: DiscoveryEvent) => void;
  /** Does the discovery actor know this peer now (by any method)? */
  readonly isKnown: (peerId: string) => boolean;
  /** Does another discovery method currently vouch for this peer? */
  readonly isFreshElsewhere: (peerId: string) => boolean;
  readonly nowMs?: () => number;
}

export interface MdnsDiscoveryStats {
  readonly services: number;
  readonly verified: number;
  readonly owned: number;
  readonly helloOk: number;
  readonly helloFailed: number;
  readonly rejected: Readonly<Record<MdnsRejectReason, number>>;
  readonly interfaces: readonly MdnsInterfaceStatus[];
}

export interface MdnsDiscovery {
  start(): void;
  stats(): MdnsDiscoveryStats;
  /** When mDNS last verified this peer (epoch ms). */
  lastSeen(peerId: string): number | undefined;
  /** Stop browsing, say goodbye, close the sockets. */
  stop(): Promise<void>;
}

interface Tracked {
  txt: MdnsTxt;
  urls: string[];
  peerId: string | null;
  isOwned: boolean;
  failures: number;
  lastOkAt: number | undefined;
  nextCheckAt: number;
  isChecking: boolean;
  /** What we last told the actor (name, kind, URL), to send only changes. */
  sentFacts: string;
}

export function createMdnsDiscovery(
  init: MdnsDiscoveryInit,
  deps: MdnsDiscoveryDeps,
): MdnsDiscovery {
  const recheckMs = init.recheckMs ?? 5_000;
  const maxFailures = init.failuresBeforeExpiry ?? 2;
  const maxServices = init.maxServices ?? 256;
  const now = deps.nowMs ?? Date.now;
  const subnets = deps.ports.map((p) => p.subnet);
  const tracked = new Map<string, Tracked>();
  const rejected: Record<MdnsRejectReason, number> = {
    'bad-txt': 0,
    'other-domain': 0,
    'no-usable-address': 0,
    'table-full': 0,
    'not-a-peer': 0,
    'bad-key': 0,
    'id-mismatch': 0,
  };
  let helloOk = 0;
  let helloFailed = 0;
  let timer: NodeJS.Timeout | undefined;
  let isStopped = false;
  let queryBackoffMs = 1_000;
  let nextQueryAt = 0;

  const iso = (ms: number): string => new Date(ms).toISOString();

  function expire(t: Tracked): void {
    const id = t.peerId;
    t.isOwned = false;
    if (id === null || deps.isFreshElsewhere(id)) return;
    // Another live service record of the same peer (a restart under a new instance name, or a
    // second interface) takes over ownership instead.
    for (const other of tracked.values()) {
      if (other !== t && other.peerId === id && other.failures === 0) {
        other.isOwned = true;
        return;
      }
    }
    deps.send({ type: 'peer.expired', peerId: id, at: iso(now()) });
  }

  /** Ask the service for its hello; the first candidate URL that proves the TXT id wins. */
  async function verify(t: Tracked): Promise<void> {
    let reason: MdnsRejectReason | undefined;
    for (const url of t.urls) {
      let body: unknown;
      try {
        body = await deps.fetchHello(url);
      } catch {
        continue;
      }
      const hello = checkHello(body, t.txt.id);
      if (!hello.ok) {
        reason = hello.error;
        continue;
      }
      const peer = hello.value;
      if (isStopped) return;
      helloOk += 1;
      t.peerId = peer.peerId;
      t.failures = 0;
      t.lastOkAt = now();
      t.nextCheckAt = t.lastOkAt + recheckMs;
      // Tell the actor about peers it does not know, and about changes to peers we added; re-sending
      // our facts for a peer that multicast also advertises (with other URLs or rooms) would flip
      // its record back and forth.
      const facts = `${peer.name}\n${peer.kind}\n${url}`;
      const isChanged = t.isOwned && facts !== t.sentFacts && !deps.isFreshElsewhere(t.peerId);
      if (!deps.isKnown(t.peerId) || isChanged) {
        t.isOwned = true;
        t.sentFacts = facts;
        deps.send({
          type: 'peer.seen',
          peerId: t.peerId,
          name: peer.name,
          kind: peer.kind,
          urls: [url],
          rooms: [],
          via: 'mdns',
          at: iso(t.lastOkAt),
        });
      }
      return;
    }
    if (isStopped) return;
    helloFailed += 1;
    if (reason !== undefined) rejected[reason] += 1;
    t.failures += 1;
    t.nextCheckAt = now() + Math.min(recheckMs * 2 ** (t.failures - 1), 60_000);
    if (t.isOwned && t.failures >= maxFailures) expire(t);
  }

  function check(t: Tracked): void {
    if (t.isChecking || isStopped) return;
    t.isChecking = true;
    void verify(t).finally(() => (t.isChecking = false));
  }

  function onUp(s: MdnsFoundService): void {
    const txt = parseTxt(s.txt);
    if (!txt.ok) {
      rejected['bad-txt'] += 1;
      return;
    }
    if (txt.value.id === init.selfPeerId) return;
    if (txt.value.domain !== init.domain) {
      rejected['other-domain'] += 1;
      return;
    }
    const urls = candidateUrls(s, subnets);
    if (urls.length === 0) {
      rejected['no-usable-address'] += 1;
      return;
    }
    const known = tracked.get(s.fqdn);
    if (known && known.txt.id !== txt.value.id) onDown(s.fqdn);
    const existing = tracked.get(s.fqdn);
    if (existing) {
      existing.urls = urls;
      existing.nextCheckAt = now();
      check(existing);
      return;
    }
    if (tracked.size >= maxServices && !evictUnproven()) {
      rejected['table-full'] += 1;
      return;
    }
    const t: Tracked = {
      txt: txt.value,
      urls,
      peerId: null,
      isOwned: false,
      failures: 0,
      lastOkAt: undefined,
      nextCheckAt: now(),
      isChecking: false,
      sentFacts: '',
    };
    tracked.set(s.fqdn, t);
    check(t);
  }

  /**
   * Make room in a full table: drop a service that never proved a peer id and has failed its
   * hello `maxFailures` times or more (the one failing longest), so forged records that never
   * answer — they never say goodbye either — cannot hold every slot for good.
   */
  function evictUnproven(): boolean {
    let worst: [string, Tracked] | undefined;
    for (const entry of tracked) {
      const t = entry[1];
      if (t.peerId !== null || t.isChecking || t.failures < maxFailures) continue;
      if (!worst || t.failures > worst[1].failures) worst = entry;
    }
    if (!worst) return false;
    tracked.delete(worst[0]);
    return true;
  }

  function onDown(fqdn: string): void {
    const t = tracked.get(fqdn);
    if (!t) return;
    tracked.delete(fqdn);
    if (t.isOwned) expire(t);
  }

  function tick(): void {
    const t0 = now();
    if (t0 >= nextQueryAt) {
      for (const p of deps.ports) p.query();
      nextQueryAt = t0 + queryBackoffMs;
      queryBackoffMs = Math.min(queryBackoffMs * 2, 60_000);
    }
    for (const t of tracked.values()) {
      // A peer that multicast (or a static URL) keeps fresh needs no extra requests from us.
      if (t.peerId !== null && t.failures === 0 && deps.isFreshElsewhere(t.peerId)) continue;
      if (t.peerId !== null && !t.isOwned && t.failures === 0 && deps.isKnown(t.peerId)) continue;
      if (t0 >= t.nextCheckAt) check(t);
    }
  }

  return {
    start() {
      const publication = {
        instance: instanceName(init.name, init.selfPeerId),
        host: hostName(init.selfPeerId),
        port: init.peerPort,
        txt: buildTxt({ id: init.selfPeerId, kind: init.kind, domain: init.domain }),
      };
      for (const p of deps.ports) {
        p.browse({ up: onUp, down: onDown });
        p.publish(publication);
      }
      nextQueryAt = now() + queryBackoffMs;
      timer = setInterval(tick, Math.min(1_000, recheckMs));
      timer.unref();
    },
    stats() {
      const all = [...tracked.values()];
      return {
        services: tracked.size,
        verified: all.filter((t) => t.peerId !== null && t.failures === 0).length,
        owned: all.filter((t) => t.isOwned).length,
        helloOk,
        helloFailed,
        rejected: { ...rejected },
        interfaces: deps.ports.map((p) => p.status()),
      };
    },
    lastSeen(peerId) {
      let best: number | undefined;
      for (const t of tracked.values())
        if (t.peerId === peerId && t.lastOkAt !== undefined) best = Math.max(best ?? 0, t.lastOkAt);
      return best;
    },
    async stop() {
      isStopped = true;
      if (timer) clearInterval(timer);
      await Promise.all(deps.ports.map((p) => p.close()));
    },
  };
}
