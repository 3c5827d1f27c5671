/**
 * One member peer for `bench/rooms.bench.ts`, composed in-process the way `servePeer`
 * (src/cli/serve.ts) composes a running peer — memory keystore, event store, peer runtime (actors,
 * recorder, log writer), sessions with WebSocket push links, the peer API with its link server,
 * and rooms — minus the local HTTP API, discovery and inspection, which only add idle listeners.
 * Several of these share one bench child process; the bench reads deliveries from the runtime's
 * hub (`runtime.hub.events$()`, the feed behind `GET /api/events`) instead of over SSE.
 *
 * The event store is injectable so the same peer can run on the memory store or a no-op store.
 */
import { pino } from 'pino';
import { createPeerRuntime, type PeerRuntime } from '../../src/actors/peer-runtime.js';
import type { PeerSessions } from '../../src/actors/peer-sessions.types.js';
import type { Rooms } from '../../src/actors/rooms/rooms.js';
import type { Identity } from '../../src/crypto/index.js';
import { DEFAULTS, type ServeConfig } from '../../src/cli/serve-config.js';
import { startRooms } from '../../src/cli/serve-rooms.js';
import { startSessions } from '../../src/cli/serve-sessions.js';
import { createMemoryKeystore } from '../../src/keystore/memory-keystore.js';
import { HANDSHAKE_SUITES } from '../../src/protocol/handshake.codec.js';
import { SOFTWARE_VERSION } from '../../src/protocol/version.js';
import type { EventStore } from '../../src/store/event-store.js';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';
import { listenHttp } from '../../src/transport/http/http-server.js';
import type { LocalRequest } from '../../src/transport/http/local-api.js';
import { createPeerApi } from '../../src/transport/http/peer-api.js';
import { createRequestChannel } from '../../src/transport/request-channel.js';
import { attachLinkServer } from '../../src/transport/ws/peer-link.js';
import { createNoopEventStore } from './rooms-noop-store.js';

export type StoreKind = 'memory' | 'noop';

export interface MemberPeer {
  readonly identity: Identity;
  readonly runtime: PeerRuntime;
  readonly sessions: PeerSessions;
  readonly rooms: Rooms;
  close(): Promise<void>;
}

export function benchServeConfig(name: string): ServeConfig {
  return {
    name,
    dataDir: undefined,
    isVolatile: true,
    host: '127.0.0.1',
    port: 0,
    apiPort: 0,
    store: 'memory',
    identity: 'ed25519',
    peers: [],
    isDiscoveryOn: false,
    multicast: '239.255.42.99:7402',
    interface: undefined,
    trust: 'tofu',
    isPushOn: true,
    logLevel: 'silent',
    passphrase: undefined,
    rekeyAfter: undefined,
    isInspecting: false,
    roomHistory: DEFAULTS.roomHistory,
    heapGrowthPercent: DEFAULTS.heapGrowthPercent,
    // What `conclave serve --volatile` runs with: the memory store keeps its newest MiB by default.
    logRetainBytes: DEFAULTS.logRetainMiB * 2 ** 20,
  };
}

export async function startMemberPeer(name: string, storeKind: StoreKind): Promise<MemberPeer> {
  const config = benchServeConfig(name);
  const logger = pino({ level: 'silent' });
  const keystore = createMemoryKeystore();
  const identity = await keystore.loadOrCreateIdentity('ed25519');
  const store: EventStore =
    storeKind === 'noop' ? createNoopEventStore() : createMemoryEventStore();
  const runtime = createPeerRuntime(
    {
      peerId: identity.fingerprint,
      name,
      fingerprint: identity.fingerprint,
      identityKind: identity.kind,
      store: store.description,
      version: SOFTWARE_VERSION,
      isInspecting: false,
      initialPins: {},
    },
    { store },
  );
  const channel = createRequestChannel<LocalRequest, unknown>();
  runtime.start();
  let rooms: Rooms | undefined;
  const { sessions, services } = await startSessions({
    identity,
    keystore,
    runtime,
    store,
    logger,
    rekeyAfterMessages: undefined,
    links: true,
    app: {
      request: (from, inner) => rooms?.handleRequest(from, inner),
      push: (from, inner) => rooms?.handlePush(from, inner),
      frame: (from, frame) => rooms?.handleFrame(from, frame),
    },
    onSession: (peerId) => setImmediate(() => rooms?.onSession(peerId)),
  });
  runtime.attach(channel, services);
  const peerApi = await listenHttp(
    createPeerApi({
      hello: () => ({
        v: 1,
        peerId: identity.fingerprint,
        name,
        identityKind: identity.kind,
        publicKey: identity.publicKeyBytes.toString('base64url'),
        suites: identity.kind === 'rsa' ? [...HANDSHAKE_SUITES] : ['x25519-aes256gcm'],
      }),
      handshake: sessions.handshakePort,
      session: sessions.sessionPort,
      onUnexpected: () => undefined,
    }),
    { host: '127.0.0.1', port: 0, label: 'peer API' },
  );
  const links = attachLinkServer(peerApi.server, {
    hasSession: (sid) => sessions.hasSession(sid),
    onLink: (sid, link) => sessions.acceptLink(sid, link),
  });
  const started = await startRooms(config, {
    identity,
    keystore,
    store,
    runtime,
    sessions,
    logger,
    peerPort: () => peerApi.port,
    announce: () => undefined,
  });
  rooms = started;
  runtime.listening(peerApi.url, 'http://127.0.0.1:0');
  return {
    identity,
    runtime,
    sessions,
    rooms: started,
    async close() {
      channel.close();
      await peerApi.close(100);
      await runtime.stop('bench over');
      started.close();
      links.close();
      sessions.close();
      await store.close();
      await keystore.close();
    },
  };
}
