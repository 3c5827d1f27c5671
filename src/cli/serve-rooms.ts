/**
 * Wires rooms into a serving peer: the rooms runtime over sessions, discovery (advertised rooms,
 * peer addresses), the keystore and the log; restores rooms recorded before a restart.
 */
import type { Logger } from 'pino';
import type { PeerRuntime } from '../actors/peer-runtime.js';
import type { PeerSessions } from '../actors/peer-sessions.types.js';
import { createRooms, type Rooms } from '../actors/rooms/rooms.js';
import type { Identity } from '../crypto/index.js';
import type { Keystore } from '../keystore/keystore.js';
import type { EventStore } from '../store/event-store.js';
import { listIpv4Interfaces } from '../transport/multicast/interfaces.js';
import type { ServeConfig } from './serve-config.js';

/** URLs other peers can use to reach our peer API (written into invite codes). */
export function reachableUrls(host: string, port: number, onlyInterface?: string): string[] {
  if (host !== '0.0.0.0') return [`http://${host.includes(':') ? `[${host}]` : host}:${port}`];
  const ifaces = listIpv4Interfaces(onlyInterface);
  const sorted = [...ifaces].sort((a, b) => Number(a.isLoopback) - Number(b.isLoopback));
  const urls = sorted.map((i) => `http://${i.address}:${port}`);
  return urls.length > 0 ? urls : [`http://127.0.0.1:${port}`];
}

export async function startRooms(
  config: ServeConfig,
  deps: {
    identity: Identity;
    keystore: Keystore;
    store: EventStore;
    runtime: PeerRuntime;
    sessions: PeerSessions;
    logger: Logger;
    peerPort: () => number;
    announce: () => void;
  },
): Promise<Rooms> {
  const { runtime, sessions } = deps;
  const rooms = createRooms({
    identity: deps.identity,
    name: config.name,
    keystore: deps.keystore,
    store: deps.store,
    spawnActor: runtime.spawnActor,
    hub: runtime.hub,
    sessions,
    historyLimit: config.roomHistory,
    selfUrls: () => reachableUrls(config.host, deps.peerPort(), config.interface),
    directory: () =>
      runtime.knownPeers().map((p) => ({
        peerId: p.peerId,
        name: p.name,
        urls: p.urls,
        rooms: p.rooms,
      })),
    trustMode: config.trust,
    pinState: (peerId) => runtime.pins()[peerId]?.state ?? 'none',
    onAdvertise: () => deps.announce(),
    flushLog: () => runtime.writer.flush(),
  });
  const restored = await rooms.restore();
  if (restored > 0) deps.logger.info({ rooms: restored }, 'rooms restored from the log');
  return rooms;
}
