/**
 * The actor runtime of one peer: creates the root peer actor (which will spawn session, room and
 * rotation actors), records every accepted event into the log, routes inbound request streams to
 * actors and publishes the runtime's events on a typed emitter.
 *
 * @example
 * const runtime = createPeerRuntime({ peerId, name, fingerprint, identityKind: 'ed25519',
 *   store: store.description, version }, { store });
 * runtime.attach(localChannel);
 * runtime.start();
 * runtime.listening(peerUrl, apiUrl);
 * await runtime.stop('SIGTERM');
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import { createActor, type Actor, type ActorRefFrom } from 'xstate';
import type { Subscription } from 'rxjs';
import { PEER_MACHINE_VERSION, peerMachine, type PeerInfo } from '../machines/peer.machine.js';
import {
  DISCOVERY_MACHINE_VERSION,
  type discoveryMachine,
  type DiscoveryEvent,
  type KnownPeer,
} from '../machines/discovery.machine.js';
import type { EventStore } from '../store/event-store.js';
import type { RequestChannel } from '../transport/request-channel.js';
import type { LocalQuery } from '../transport/http/local-api.js';
import { AppError } from '../errors.js';
import { createLogWriter, type LogWriter } from './log-writer.js';
import { createRecorder } from './recorder.js';
import type { RuntimeEvents } from './runtime-events.js';

export const MACHINE_VERSIONS: Readonly<Record<string, number>> = {
  peer: PEER_MACHINE_VERSION,
  discovery: DISCOVERY_MACHINE_VERSION,
};

export interface PeerRuntimeInit {
  readonly peerId: string;
  readonly name: string;
  readonly fingerprint: string;
  readonly identityKind: 'ed25519' | 'rsa';
  /** Store description for `/api/info` (no credentials). */
  readonly store: string;
  readonly version: string;
  readonly logHighWaterMark?: number;
  /** Largest number of LAN peers kept by discovery (default 512). */
  readonly maxPeers?: number;
}

export interface PeerRuntimeDeps {
  readonly store: EventStore;
  readonly now?: () => Date;
}

export interface PeerRuntime {
  readonly events: EventEmitter<RuntimeEvents>;
  readonly actor: Actor<typeof peerMachine>;
  readonly writer: LogWriter;
  /** The root actor's stream, `peer:<peerId>`. */
  readonly stream: string;
  /** Feed a local request stream into the actors and route their replies back. */
  attach(channel: RequestChannel<LocalQuery, unknown>): void;
  start(): void;
  listening(peerUrl: string, apiUrl: string): void;
  info(): PeerInfo;
  /** Deliver a discovery change to the discovery actor. */
  discovered(event: DiscoveryEvent): void;
  /** Peers the discovery actor knows now. */
  knownPeers(): readonly KnownPeer[];
  /** Stop the actors, flush the log. Idempotent. */
  stop(reason: string): Promise<void>;
}

export function createPeerRuntime(init: PeerRuntimeInit, deps: PeerRuntimeDeps): PeerRuntime {
  const now = deps.now ?? (() => new Date());
  const events = new EventEmitter<RuntimeEvents>();
  const stream = `peer:${init.peerId}`;
  const writer = createLogWriter(
    init.logHighWaterMark === undefined ? {} : { highWaterMark: init.logHighWaterMark },
    {
      store: deps.store,
      onAppended: (recorded) => events.emit('log:appended', recorded),
      onError: (err) => events.emit('log:error', err),
    },
  );
  const recorder = createRecorder({
    record: (s, e) => writer.enqueue(s, e),
    now,
    machineVersions: MACHINE_VERSIONS,
  });
  const actor = createActor(peerMachine, {
    input: {
      stream,
      peerId: init.peerId,
      name: init.name,
      fingerprint: init.fingerprint,
      identityKind: init.identityKind,
      store: init.store,
      version: init.version,
      maxPeers: init.maxPeers ?? 512,
    },
    inspect: recorder,
  });
  const subscriptions: Subscription[] = [];
  let stopping: Promise<void> | undefined;

  function discoveryRef(): ActorRefFrom<typeof discoveryMachine> | undefined {
    return actor.system.get('discovery') as ActorRefFrom<typeof discoveryMachine> | undefined;
  }

  function infoOf(): PeerInfo {
    let result: PeerInfo | undefined;
    const requestId = `local-${randomUUID()}`;
    const sub = actor.on('reply', (e) => {
      if (e.requestId === requestId) result = e.result;
    });
    actor.send({ type: 'info.query', requestId });
    sub.unsubscribe();
    if (!result) throw new AppError('ERR_NOT_RUNNING', 'the peer actor did not answer');
    return result;
  }

  return {
    events,
    actor,
    writer,
    stream,
    attach(channel) {
      subscriptions.push(
        channel.requests$.subscribe(({ requestId, request }) => {
          switch (request.type) {
            case 'info.query':
              actor.send({ type: 'info.query', requestId });
              return;
          }
        }),
      );
      const replies = actor.on('reply', (e) => channel.respond(e.requestId, e.result));
      subscriptions.push({ unsubscribe: () => replies.unsubscribe() } as Subscription);
    },
    start() {
      actor.start();
    },
    listening(peerUrl, apiUrl) {
      actor.send({ type: 'peer.listening', peerUrl, apiUrl, at: now().toISOString() });
      events.emit('peer:started', { peerId: init.peerId, peerUrl, apiUrl });
    },
    info: infoOf,
    discovered(event) {
      discoveryRef()?.send(event);
    },
    knownPeers() {
      return Object.values(discoveryRef()?.getSnapshot().context.peers ?? {});
    },
    stop(reason) {
      stopping ??= (async () => {
        events.emit('peer:stopping', { reason });
        actor.send({ type: 'peer.stop', reason, at: now().toISOString() });
        for (const s of subscriptions) s.unsubscribe();
        actor.send({ type: 'peer.stopped', at: now().toISOString() });
        await writer.flush();
        actor.stop();
        events.emit('peer:stopped');
      })();
      return stopping;
    },
  };
}
