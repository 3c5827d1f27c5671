/**
 * LAN discovery by signed multicast beacons: sends ours at start, every interval (with jitter) and
 * on change; verifies what arrives (see `beacon-verifier.ts`), keeps last-seen times, and tells the
 * discovery actor only about changes — a peer appearing, changing, or expiring.
 */
import { isIPv4 } from 'node:net';
import {
  exportPublicKey,
  sign,
  SignatureDomains,
  toBase64Url,
  type Identity,
} from '../../crypto/index.js';
import {
  beaconSigningFields,
  encodeBeacon,
  type AdvertisedRoom,
  type UnsignedBeacon,
} from '../../protocol/beacon.codec.js';
import type { DiscoveryEvent } from '../../machines/discovery.machine.js';
import type { Subscription } from 'rxjs';
import type { Multicast } from '../../transport/multicast/udp-multicast.js';
import { createBeaconVerifier, type BeaconDropReason } from './beacon-verifier.js';

export interface DiscoveryServiceInit {
  readonly identity: Identity;
  readonly name: string;
  /** Our peer API port, advertised in beacons. */
  readonly peerPort: number;
  /** Our peer API addresses to advertise (IPv4). */
  readonly addresses: readonly string[];
  readonly intervalMs?: number;
  readonly ttlMs?: number;
  readonly maxPeers?: number;
}

export interface DiscoveryServiceDeps {
  readonly multicast: Multicast;
  /** Delivers change events to the discovery actor. */
  readonly send: (event: DiscoveryEvent) => void;
  readonly rooms: () => readonly AdvertisedRoom[];
  /**
   * Whether a peer id is one we hold a trust pin for (handshaken before or verified; not blocked).
   * A full table makes room for such a peer by dropping the entry heard from longest ago among
   * peers without a pin, so throwaway identities can keep newcomers out, never peers we know.
   */
  readonly isPinned?: (peerId: string) => boolean;
  /**
   * The discovery table these beacons feed, shared with mDNS and static peers: it can be full
   * while the beacon table is not, and would then turn a pinned peer away for good (its later
   * beacons are not new here). A pinned peer it does not list gets room there the same way.
   */
  readonly shared?: { isFull(): boolean; has(peerId: string): boolean };
  readonly nowMs?: () => number;
}

/** A peer's facts (name, addresses, rooms) change in the table and the log at most 3 at once, then one per 5 s. */
export const CHANGE_EVERY_MS = 5_000;
const CHANGE_BURST = 3;

export interface DiscoveryStats {
  readonly beaconsSent: number;
  readonly beaconsAccepted: number;
  /** By reason; `table-full`: a valid beacon from a new peer while the table holds `maxPeers`. */
  readonly dropped: Readonly<Record<BeaconDropReason | 'table-full', number>>;
  /** Entries of peers without a pin dropped from a full table to make room for a pinned peer. */
  readonly evicted: number;
  readonly tableSize: number;
  readonly lastHeardAt: Readonly<Record<string, number>>;
}

export interface DiscoveryService {
  start(): void;
  /** Send a beacon now (our name, addresses or rooms changed). */
  announce(): void;
  stats(): DiscoveryStats;
  stop(): void;
}

export function createDiscoveryService(
  init: DiscoveryServiceInit,
  deps: DiscoveryServiceDeps,
): DiscoveryService {
  const intervalMs = init.intervalMs ?? 2_000;
  const ttlMs = init.ttlMs ?? 10_000;
  const maxPeers = init.maxPeers ?? 512;
  const now = deps.nowMs ?? Date.now;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const verifier = createBeaconVerifier({
    selfPeerId: init.identity.fingerprint,
    maxTracked: maxPeers * 2,
  });
  /** Peer id → when last heard; kept in that order (an entry moves to the end when heard). */
  const lastSeen = new Map<string, number>();
  /**
   * Per peer: the facts last passed on, and a bucket of changes allowed (`CHANGE_BURST`, one more
   * per `CHANGE_EVERY_MS`). Each change is a recorded transition: one key must not grow the log
   * without bound by renaming itself on every beacon. A change held back goes through at the
   * peer's next beacon once the bucket has refilled (beacons carry the current facts).
   */
  const lastFacts = new Map<string, { facts: string; at: number; tokens: number }>();
  let tableFull = 0;
  let evicted = 0;
  const publicKey = exportPublicKey(init.identity);
  let seq = 0;
  let sent = 0;
  let accepted = 0;
  let beaconTimer: NodeJS.Timeout | undefined;
  let expiryTimer: NodeJS.Timeout | undefined;
  let sub: Subscription | undefined;

  /** The signed beacon, advertising as many rooms as fit in one datagram (RSA keys are big). */
  function beacon(): Buffer {
    const rooms = deps.rooms().slice(0, 8);
    for (let n = rooms.length; ; n--) {
      try {
        return signedBeacon(rooms.slice(0, n));
      } catch (err) {
        if (!(err instanceof RangeError) || n === 0) throw err;
      }
    }
  }

  function signedBeacon(rooms: readonly AdvertisedRoom[]): Buffer {
    const unsigned: UnsignedBeacon = {
      v: 1,
      type: 'beacon',
      peerId: init.identity.fingerprint,
      name: init.name,
      kind: init.identity.kind,
      publicKey,
      port: init.peerPort,
      addrs: init.addresses.slice(0, 8),
      rooms: [...rooms],
      ts: now(),
      seq: seq++,
    };
    const sig = sign(
      init.identity.privateKey,
      SignatureDomains.beacon,
      beaconSigningFields(unsigned),
    );
    return encodeBeacon({ ...unsigned, sig: toBase64Url(sig) });
  }

  function announce(): void {
    deps.multicast.send(beacon());
    sent += 1;
  }

  function scheduleNext(): void {
    const jitter = intervalMs * (0.8 + Math.random() * 0.4);
    beaconTimer = setTimeout(() => {
      announce();
      scheduleNext();
    }, jitter);
    beaconTimer.unref();
  }

  function forget(peerId: string, t: number): void {
    lastSeen.delete(peerId);
    lastFacts.delete(peerId);
    deps.send({ type: 'peer.expired', peerId, at: iso(t) });
  }

  function expire(): void {
    const t = now();
    for (const [peerId, seen] of lastSeen) if (t - seen > ttlMs) forget(peerId, t);
  }

  /**
   * Room for `peerId` in a full table: only for a pinned peer, at the cost of the stalest unpinned
   * one (`inShared`: one the shared table lists, whose expiry frees a place there).
   */
  function makeRoomFor(peerId: string, t: number, inShared = false): boolean {
    const isPinned = deps.isPinned;
    if (!isPinned?.(peerId)) return false;
    for (const id of lastSeen.keys()) {
      if (id === peerId || isPinned(id) || (inShared && deps.shared?.has(id) !== true)) continue;
      forget(id, t);
      evicted += 1;
      return true;
    }
    return false;
  }

  return {
    start() {
      sub = deps.multicast.datagrams$.subscribe(({ bytes, from, receivedAt }) => {
        const verdict = verifier.check(bytes, from.address, receivedAt);
        if (!verdict.ok) return;
        const b = verdict.beacon;
        const isNew = !lastSeen.delete(b.peerId);
        const isFull = lastSeen.size >= maxPeers;
        if (isNew && isFull && !makeRoomFor(b.peerId, receivedAt)) {
          tableFull += 1;
          return;
        }
        const shared = deps.shared;
        if (!isFull && shared?.isFull() && !shared.has(b.peerId))
          makeRoomFor(b.peerId, receivedAt, true);
        lastSeen.set(b.peerId, receivedAt);
        accepted += 1;
        // Only the signed, advertised addresses, in the sender's order: the source address of a
        // datagram differs per interface it arrived on and would make every beacon a "change".
        // Only IPv4 literals: a signed beacon may still name any host (a DNS name, a URL
        // fragment), and these become the URLs this peer posts handshakes to.
        const listed = b.addrs.filter((a) => isIPv4(a));
        const addrs = listed.length > 0 ? listed : [from.address];
        const facts = JSON.stringify([b.name, b.kind, addrs, b.port, b.rooms]);
        const last = lastFacts.get(b.peerId);
        if (last === undefined) {
          lastFacts.set(b.peerId, { facts, at: receivedAt, tokens: CHANGE_BURST });
        } else if (last.facts !== facts) {
          // A token bucket: a few changes at once (a room created, then another), then one per
          // CHANGE_EVERY_MS; a change held back is seen (no expiry), not passed on.
          const refill = Math.floor((receivedAt - last.at) / CHANGE_EVERY_MS);
          if (refill > 0) {
            last.tokens = Math.min(CHANGE_BURST, last.tokens + refill);
            last.at = receivedAt;
          }
          if (last.tokens < 1) return;
          last.tokens -= 1;
          last.facts = facts;
        }
        deps.send({
          type: 'peer.seen',
          peerId: b.peerId,
          name: b.name,
          kind: b.kind,
          urls: addrs.map((a) => `http://${a}:${b.port}`),
          rooms: b.rooms,
          via: 'multicast',
          at: iso(receivedAt),
        });
      });
      announce();
      scheduleNext();
      expiryTimer = setInterval(expire, Math.max(250, Math.floor(ttlMs / 4)));
      expiryTimer.unref();
    },
    announce,
    stats: () => ({
      beaconsSent: sent,
      beaconsAccepted: accepted,
      dropped: { ...verifier.dropped, 'table-full': tableFull },
      evicted,
      tableSize: lastSeen.size,
      lastHeardAt: Object.fromEntries(lastSeen),
    }),
    stop() {
      sub?.unsubscribe();
      if (beaconTimer) clearTimeout(beaconTimer);
      if (expiryTimer) clearInterval(expiryTimer);
    },
  };
}
