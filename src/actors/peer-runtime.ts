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
import { createActor, type Actor, type ActorRefFrom, type AnyActorRef } from 'xstate';
import type { SpawnActor } from './handshake/types.js';
import { HANDSHAKE_REQUESTER_MACHINE_VERSION } from '../machines/handshake-requester.machine.js';
import { HANDSHAKE_RESPONDER_MACHINE_VERSION } from '../machines/handshake-responder.machine.js';
import { SESSION_MACHINE_VERSION } from '../machines/session.machine.js';
import type { Subscription } from 'rxjs';
import { PEER_MACHINE_VERSION, peerMachine, type PeerInfo } from '../machines/peer.machine.js';
import {
  TRUST_MACHINE_VERSION,
  type Pin,
  type TrustEvent,
  type trustMachine,
} from '../machines/trust.machine.js';
import {
  DISCOVERY_MACHINE_VERSION,
  type discoveryMachine,
  type DiscoveryEvent,
  type KnownPeer,
} from '../machines/discovery.machine.js';
import type { EventStore } from '../store/event-store.js';
import type { RequestChannel } from '../transport/request-channel.js';
import type { LocalRequest } from '../transport/http/local-api.js';
import { parseFingerprint } from '../crypto/index.js';
import { resolvePeerId } from './peer-directory.js';
import { AppError } from '../errors.js';
import { ROOM_MACHINE_VERSION } from '../machines/room.machine.js';
import { ROTATION_MACHINE_VERSION } from '../machines/rotation.machine.js';
import { createLogWriter, type LogWriter } from './log-writer.js';
import { createRecorder } from './recorder.js';
import { composeInspect, createInspectionFeed, type InspectionFeed } from './inspection.js';
import { createEventHub, type EventHub } from './event-hub.js';
import type { RuntimeEvents } from './runtime-events.js';

export const MACHINE_VERSIONS: Readonly<Record<string, number>> = {
  peer: PEER_MACHINE_VERSION,
  discovery: DISCOVERY_MACHINE_VERSION,
  trust: TRUST_MACHINE_VERSION,
  'handshake-requester': HANDSHAKE_REQUESTER_MACHINE_VERSION,
  'handshake-responder': HANDSHAKE_RESPONDER_MACHINE_VERSION,
  session: SESSION_MACHINE_VERSION,
  room: ROOM_MACHINE_VERSION,
  rotation: ROTATION_MACHINE_VERSION,
};

/** Peers the discovery table holds at most, from every source (beacons, mDNS, static). */
export const DEFAULT_MAX_PEERS = 512;

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
  /** Trust pins to start from (the data dir's projection). */
  readonly initialPins?: Readonly<Record<string, Pin>>;
  /** Live inspection (`serve --inspect`): every actor also reports to `inspection`. */
  readonly isInspecting?: boolean;
}

/** Work the runtime hands off to other components for some local requests. */
export interface RuntimeServices {
  connect?(request: Extract<LocalRequest, { type: 'peer.connect' }>): Promise<unknown>;
  ping?(request: Extract<LocalRequest, { type: 'peer.ping' }>): Promise<unknown>;
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
  attach(channel: RequestChannel<LocalRequest, unknown>, services?: RuntimeServices): void;
  start(): void;
  listening(peerUrl: string, apiUrl: string): void;
  info(): PeerInfo;
  /** Start a recorded root actor (handshakes, sessions): same recorder, listed in `roots()`. */
  readonly spawnActor: SpawnActor;
  /** Root actors besides the peer actor that are alive or ended recently. */
  roots(): readonly AnyActorRef[];
  /** The local push feed (`GET /api/events`). */
  readonly hub: EventHub;
  /** The live inspection feed; undefined unless `isInspecting`. */
  readonly inspection: InspectionFeed | undefined;
  /** Raise a security event (on `/api/events` and the emitter). */
  alert(kind: string, peerId: string | null, detail: string): void;
  /** Deliver a discovery change to the discovery actor. */
  discovered(event: DiscoveryEvent): void;
  /** Peers the discovery actor knows now. */
  knownPeers(): readonly KnownPeer[];
  /** Change a trust pin; returns the pin after the change (unchanged if nothing applied). */
  trust(event: TrustEvent): Pin | undefined;
  pins(): Readonly<Record<string, Pin>>;
  /** Stop the actors, flush the log. Idempotent. */
  stop(reason: string): Promise<void>;
}

export function createPeerRuntime(init: PeerRuntimeInit, deps: PeerRuntimeDeps): PeerRuntime {
  const now = deps.now ?? (() => new Date());
  const events = new EventEmitter<RuntimeEvents>();
  const stream = `peer:${init.peerId}`;
  const hub = createEventHub({ now });
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
  const inspection = init.isInspecting === true ? createInspectionFeed() : undefined;
  const inspect = composeInspect(recorder, inspection);
  const actor = createActor(peerMachine, {
    input: {
      stream,
      peerId: init.peerId,
      name: init.name,
      fingerprint: init.fingerprint,
      identityKind: init.identityKind,
      store: init.store,
      version: init.version,
      maxPeers: init.maxPeers ?? DEFAULT_MAX_PEERS,
      initialPins: init.initialPins ?? {},
    },
    inspect,
  });
  const subscriptions: Subscription[] = [];
  /** Extra root actors, kept for a while after they end so `/api/actors` can show them. */
  const extraRoots = new Set<AnyActorRef>();
  const spawnActor: SpawnActor = (machine, input) => {
    const ref = createActor(machine, { input, inspect });
    extraRoots.add(ref);
    ref.subscribe({
      next: (snap: { status?: string }) => {
        if (snap.status !== 'active') setTimeout(() => extraRoots.delete(ref), 60_000).unref();
      },
      error: () => setTimeout(() => extraRoots.delete(ref), 60_000).unref(),
    });
    ref.start();
    return ref as never;
  };
  let stopping: Promise<void> | undefined;

  function discoveryRef(): ActorRefFrom<typeof discoveryMachine> | undefined {
    return actor.system.get('discovery') as ActorRefFrom<typeof discoveryMachine> | undefined;
  }

  function trustRef(): ActorRefFrom<typeof trustMachine> | undefined {
    return actor.system.get('trust') as ActorRefFrom<typeof trustMachine> | undefined;
  }

  function setTrust(r: Extract<LocalRequest, { type: 'trust.set' }>): Pin {
    const known = Object.keys(discoveryRef()?.getSnapshot().context.peers ?? {});
    const pinned = Object.keys(trustRef()?.getSnapshot().context.pins ?? {});
    const peerId = resolvePeerId(r.peerId, [...known, ...pinned]);
    if (peerId === init.peerId) throw new AppError('ERR_INVALID_ARGUMENT', 'that is this peer');
    if (r.fingerprint !== undefined && parseFingerprintOrNull(r.fingerprint) !== peerId) {
      throw new AppError(
        'ERR_FINGERPRINT_MISMATCH',
        'the fingerprint you checked is not the one of this peer id: do not verify it; the key may not be who you think',
      );
    }
    const at = now().toISOString();
    const type =
      r.change === 'verify' ? 'pin.verify' : r.change === 'unverify' ? 'pin.unverify' : 'pin.block';
    const pin = runtime.trust({ type, peerId, at });
    if (!pin) throw new AppError('ERR_NOT_FOUND', `no trust pin for ${peerId} to change`);
    return pin;
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

  const runtime: PeerRuntime = {
    events,
    hub,
    inspection,
    actor,
    writer,
    stream,
    spawnActor,
    roots: () => [...extraRoots],
    attach(channel, services) {
      subscriptions.push(
        channel.requests$.subscribe(({ requestId, request }) => {
          switch (request.type) {
            case 'info.query':
              actor.send({ type: 'info.query', requestId });
              return;
            case 'peer.connect':
            case 'peer.ping': {
              const work =
                request.type === 'peer.connect'
                  ? services?.connect?.(request)
                  : services?.ping?.(request);
              if (!work) {
                channel.fail(
                  requestId,
                  new AppError('ERR_NOT_RUNNING', 'sessions are not available on this peer'),
                );
                return;
              }
              work.then(
                (v) => channel.respond(requestId, v),
                (err: unknown) =>
                  channel.fail(
                    requestId,
                    err instanceof AppError
                      ? err
                      : new AppError('ERR_INTERNAL', 'request failed', { cause: err }),
                  ),
              );
              return;
            }
            case 'trust.set':
              try {
                channel.respond(requestId, setTrust(request));
              } catch (err) {
                channel.fail(
                  requestId,
                  err instanceof AppError
                    ? err
                    : new AppError('ERR_INTERNAL', 'trust change failed', { cause: err }),
                );
              }
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
      const ref = discoveryRef();
      if (!ref) return;
      const before = ref.getSnapshot().context.peers[event.peerId];
      ref.send(event);
      const after = ref.getSnapshot().context.peers[event.peerId];
      if (before === after) return;
      const change =
        before === undefined ? 'discovered' : after === undefined ? 'expired' : 'changed';
      const view = after ?? before;
      hub.publish('peer', {
        change,
        peerId: event.peerId,
        name: view?.name ?? null,
        via: view?.via ?? null,
        urls: view?.urls ?? [],
      });
    },
    alert(kind, peerId, detail) {
      const at = now().toISOString();
      hub.publish('security', { kind, peerId, detail });
      events.emit('security:alert', { kind, peerId, detail, at });
    },
    trust(event) {
      const ref = trustRef();
      const before = ref?.getSnapshot().context.pins[event.peerId];
      ref?.send(event);
      const pin = ref?.getSnapshot().context.pins[event.peerId];
      if (pin && pin !== before) {
        events.emit('trust:changed', pin);
        hub.publish('peer', { change: 'trust', peerId: pin.peerId, trust: pin.state });
      }
      return pin;
    },
    pins() {
      return trustRef()?.getSnapshot().context.pins ?? {};
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
        hub.close();
        inspection?.close();
        events.emit('peer:stopped');
      })();
      return stopping;
    },
  };
  return runtime;
}

function parseFingerprintOrNull(text: string): string | null {
  try {
    return parseFingerprint(text);
  } catch {
    return null;
  }
}
