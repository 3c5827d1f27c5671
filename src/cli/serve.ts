/**
 * `conclave serve`: the composition root of a running peer. Builds keystore → store → runtime →
 * transports, prints the ready line, and shuts down gracefully on SIGINT/SIGTERM.
 */
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { createPeerRuntime } from '../actors/peer-runtime.js';
import { formatFingerprint } from '../crypto/identity.js';
import { AppError } from '../errors.js';
import { createFileKeystore } from '../keystore/file-keystore.js';
import { acquireFileLock } from '../store/file-lock.js';
import { createMemoryKeystore } from '../keystore/memory-keystore.js';
import type { Keystore } from '../keystore/keystore.js';
import { SOFTWARE_VERSION } from '../protocol/version.js';
import type { EventStore } from '../store/event-store.js';
import { openEventStore } from '../store/open-event-store.js';
import { listenHttp, type HttpListener } from '../transport/http/http-server.js';
import { createLocalApi, type LocalRequest } from '../transport/http/local-api.js';
import { createPeerApi } from '../transport/http/peer-api.js';
import { createRequestChannel } from '../transport/request-channel.js';
import {
  ensureDataDir,
  loadOrCreateToken,
  newToken,
  removeRuntimeFile,
  writeRuntimeFile,
  type RuntimeFile,
} from './data-dir.js';
import type { ServeConfig } from './serve-config.js';
import { startDiscovery } from './serve-discovery.js';
import { startSessions } from './serve-sessions.js';
import { startRooms } from './serve-rooms.js';
import type { Rooms } from '../actors/rooms/rooms.js';
import {
  collectMetrics,
  processFamilies,
  retentionFamilies,
  roomFamilies,
} from './serve-metrics.js';
import { attachLinkServer } from '../transport/ws/peer-link.js';
import { attachInspectSocket } from '../transport/ws/inspect-socket.js';
import { attachLocalEventsSocket } from '../transport/ws/local-events-socket.js';
import { HANDSHAKE_SUITES } from '../protocol/handshake.codec.js';
import { createPinsWriter, loadPins } from './pins-file.js';
import { listPeers } from '../actors/peer-directory.js';
import { actorTree } from '../actors/actor-tree.js';

export interface RunningPeer {
  readonly ready: RuntimeFile;
  /** Resolves when the peer has shut down. */
  readonly closed: Promise<void>;
  shutdown(reason: string): Promise<void>;
}

export interface ServeIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  readonly logger?: Logger;
}

export async function servePeer(config: ServeConfig, io: ServeIo): Promise<RunningPeer> {
  const logger =
    io.logger ?? pino({ level: config.logLevel, base: { name: config.name } }, pino.destination(2));
  const cleanups: Array<() => Promise<void>> = [];
  const runCleanups = async (): Promise<void> => {
    for (const c of cleanups.reverse())
      await c().catch((err: unknown) => logger.error({ err }, 'cleanup failed'));
    cleanups.length = 0;
  };

  try {
    if (config.dataDir !== undefined) await ensureDataDir(config.dataDir);
    if (config.dataDir !== undefined && !config.isVolatile) {
      // One peer per data directory, before anything in it is touched: a second one would shred
      // the first one's keystore temp files at open (they look like a crash's leftovers).
      const dirLock = await acquireFileLock(config.dataDir, 'data directory', 'peer.lock');
      cleanups.push(() => dirLock.release());
    }
    const keystore: Keystore = config.isVolatile
      ? createMemoryKeystore()
      : await createFileKeystore({
          dir: join(config.dataDir as string, 'keys'),
          ...(config.passphrase !== undefined ? { passphrase: config.passphrase } : {}),
        });
    cleanups.push(() => keystore.close());
    const identity = await keystore.loadOrCreateIdentity(config.identity);

    const store: EventStore = await openEventStore(config.store, {
      memory: { retainBytes: config.logRetainBytes ?? 0 },
    });
    cleanups.push(() => store.close());
    let flushLog: () => Promise<void> = () => Promise.resolve();
    cleanups.push(() => flushLog());

    const token =
      config.dataDir !== undefined ? await loadOrCreateToken(config.dataDir) : newToken();

    const runtime = createPeerRuntime(
      {
        peerId: identity.fingerprint,
        name: config.name,
        fingerprint: identity.fingerprint,
        identityKind: identity.kind,
        store: store.description,
        version: SOFTWARE_VERSION,
        isInspecting: config.isInspecting,
        initialPins:
          config.dataDir !== undefined && !config.isVolatile ? await loadPins(config.dataDir) : {},
      },
      { store },
    );
    if (config.dataDir !== undefined && !config.isVolatile) {
      const pinsWriter = createPinsWriter(config.dataDir, (err) =>
        logger.error({ err }, 'saving pins.json failed'),
      );
      runtime.events.on('trust:changed', () => pinsWriter.save(runtime.pins()));
      cleanups.push(() => pinsWriter.flush());
    }
    flushLog = () => runtime.writer.flush();
    runtime.events.on('log:error', (e) => logger.error(e, 'event log append failed'));
    const channel = createRequestChannel<LocalRequest, unknown>();
    runtime.start();
    let rooms: Rooms | undefined;
    const { sessions, services } = await startSessions({
      identity,
      keystore,
      runtime,
      store,
      logger,
      rekeyAfterMessages: config.rekeyAfter,
      links: config.isPushOn,
      app: {
        request: (from, inner) => rooms?.handleRequest(from, inner),
        push: (from, inner) => rooms?.handlePush(from, inner),
        frame: (from, frame) => rooms?.handleFrame(from, frame),
      },
      onSession: (peerId) => setImmediate(() => rooms?.onSession(peerId)),
    });
    cleanups.push(() => Promise.resolve(sessions.close()));
    runtime.attach(channel, services);

    let isStopping = false;
    const onUnexpected = (err: unknown): void =>
      logger.error({ err }, 'unexpected error in request');
    const peerApi = await listenHttp(
      createPeerApi({
        hello: () => ({
          v: 1,
          peerId: identity.fingerprint,
          name: config.name,
          identityKind: identity.kind,
          publicKey: identity.publicKeyBytes.toString('base64url'),
          suites: identity.kind === 'rsa' ? [...HANDSHAKE_SUITES] : ['x25519-aes256gcm'],
        }),
        handshake: sessions.handshakePort,
        session: sessions.sessionPort,
        onUnexpected,
      }),
      { host: config.host, port: config.port, label: 'peer API' },
    );
    cleanups.push(() => peerApi.close());
    const links = attachLinkServer(peerApi.server, {
      hasSession: (sid) => sessions.hasSession(sid),
      onLink: (sid, link) => sessions.acceptLink(sid, link),
    });
    cleanups.push(() => Promise.resolve(links.close()));
    const discovery = await startDiscovery(config, {
      identity,
      runtime,
      peerPort: peerApi.port,
      rooms: () => rooms?.advertised() ?? [],
    });
    cleanups.push(() => discovery.close());
    const roomsReady = await startRooms(config, {
      identity,
      keystore,
      store,
      runtime,
      sessions,
      logger,
      peerPort: () => peerApi.port,
      announce: () => discovery.announce(),
    });
    rooms = roomsReady;
    cleanups.push(() => Promise.resolve(roomsReady.close()));
    const metricFamilies = [
      ...roomFamilies(roomsReady),
      ...retentionFamilies(store),
      ...processFamilies(),
    ];
    let apiListener: HttpListener | undefined;
    const localApi = createLocalApi({
      token,
      getPort: () => apiListener?.port ?? config.apiPort,
      channel,
      log: store,
      health: () => ({
        // Degraded while the log is behind or failing: events are then not being recorded.
        status: isStopping
          ? 'stopping'
          : runtime.writer.isOverloaded || runtime.writer.isFailing
            ? 'degraded'
            : 'ok',
        version: SOFTWARE_VERSION,
        uptimeSeconds: Math.round(process.uptime()),
        log: {
          pending: runtime.writer.pending,
          appended: runtime.writer.appendedCount,
          failed: runtime.writer.failedCount,
        },
      }),
      peers: () =>
        listPeers({
          known: runtime.knownPeers(),
          pins: runtime.pins(),
          lastSeenMs: (id) => discovery.lastSeen(id),
          formatFingerprint,
          session: (id) => sessions.sessionView(id),
        }),
      feed: (after) => runtime.hub.events$(after),
      rooms: roomsReady,
      actors: () => [actorTree(runtime.actor), ...runtime.roots().map((r) => actorTree(r))],
      inspection: runtime.inspection,
      discoveryDiagnostics: () => discovery.diagnostics(),
      metrics: () => collectMetrics({ runtime, sessions, discovery, extra: metricFamilies }),
      onUnexpected,
    });
    apiListener = await listenHttp(localApi, {
      host: '127.0.0.1',
      port: config.apiPort,
      label: 'local API',
    });
    const api = apiListener;
    cleanups.push(() => api.close());
    const inspectSockets = attachInspectSocket(api.server, {
      token,
      getPort: () => api.port,
      source: runtime.inspection,
    });
    cleanups.push(() => Promise.resolve(inspectSockets.close()));
    const eventSockets = attachLocalEventsSocket(api.server, {
      token,
      getPort: () => api.port,
      feed: (after) => runtime.hub.events$(after),
    });
    cleanups.push(() => Promise.resolve(eventSockets.close()));

    runtime.listening(peerApi.url, api.url);
    const ready: RuntimeFile = {
      peerId: identity.fingerprint,
      name: config.name,
      fingerprint: formatFingerprint(identity.fingerprint),
      peerUrl: peerApi.url,
      apiUrl: api.url,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    };
    if (config.dataDir !== undefined) {
      await writeRuntimeFile(config.dataDir, ready);
      const dir = config.dataDir;
      cleanups.push(() => removeRuntimeFile(dir, process.pid));
    } else {
      io.stderr(`conclave api-token ${token}`);
      io.stderr(
        '(volatile peer without --data-dir: pass this token to CLI commands with --token or CONCLAVE_TOKEN)',
      );
    }
    io.stdout(`conclave ready ${JSON.stringify(ready)}`);
    for (const url of config.peers) {
      sessions
        .connect({ url, expectedPeerId: null })
        .catch((err: unknown) =>
          logger.warn({ url, err: (err as Error).message }, 'could not connect to --peer at start'),
        );
    }

    let resolveClosed: () => void = () => undefined;
    const closed = new Promise<void>((r) => (resolveClosed = r));
    let shuttingDown: Promise<void> | undefined;
    const shutdown = (reason: string): Promise<void> => {
      shuttingDown ??= (async () => {
        isStopping = true;
        logger.info({ reason }, 'shutting down');
        channel.close();
        // Live inspection readers would hold the API open until its grace period ends.
        inspectSockets.close();
        eventSockets.close();
        runtime.inspection?.close();
        // Upgraded sockets (push links) are not the HTTP server's to close: end them first.
        links.close();
        // Stop accepting first, let in-flight requests finish, then stop actors and flush the log.
        await Promise.all([peerApi.close(), api.close()]);
        await runtime.stop(reason);
        await runCleanups();
        logger.info('stopped');
        resolveClosed();
      })();
      return shuttingDown;
    };
    return { ready, closed, shutdown };
  } catch (err) {
    await runCleanups();
    throw err instanceof AppError
      ? err
      : new AppError('ERR_INTERNAL', 'the peer failed to start', { cause: err });
  }
}
