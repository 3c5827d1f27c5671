/**
 * The root peer actor: the lifecycle of one running peer. Later it spawns the session, room and
 * rotation actors; today it owns the peer's identity facts and answers queries about them.
 *
 * Pure: no I/O, no clock, no randomness. Times arrive inside events (`at`), so replaying a
 * recorded `peer:<id>` stream through `transition()` reproduces the recorded states exactly.
 */
import { assign, emit, setup, spawnChild } from 'xstate';
import { discoveryMachine } from './discovery.machine.js';
import { trustMachine, type Pin } from './trust.machine.js';

export const PEER_MACHINE_VERSION = 1;

export interface PeerInput {
  readonly stream: string;
  readonly peerId: string;
  readonly name: string;
  readonly fingerprint: string;
  readonly identityKind: 'ed25519' | 'rsa';
  readonly store: string;
  readonly version: string;
  /** Largest number of LAN peers the discovery actor keeps. */
  readonly maxPeers: number;
  /** Trust pins loaded at start; handed to the trust actor, not kept here. */
  readonly initialPins?: Readonly<Record<string, Pin>>;
}

export interface PeerContext extends Omit<PeerInput, 'initialPins'> {
  readonly peerUrl: string | null;
  readonly apiUrl: string | null;
  readonly startedAt: string | null;
  readonly stoppedAt: string | null;
  readonly stopReason: string | null;
}

export interface PeerInfo {
  readonly peerId: string;
  readonly name: string;
  readonly fingerprint: string;
  readonly identityKind: 'ed25519' | 'rsa';
  readonly peerUrl: string | null;
  readonly apiUrl: string | null;
  readonly store: string;
  readonly version: string;
  readonly startedAt: string | null;
  readonly state: string;
}

export type PeerEvent =
  | { type: 'peer.listening'; peerUrl: string; apiUrl: string; at: string }
  | { type: 'peer.stop'; reason: string; at: string }
  | { type: 'peer.stopped'; at: string }
  | { type: 'info.query'; requestId: string };

export type PeerEmitted = { type: 'reply'; requestId: string; result: PeerInfo };

export const peerMachine = setup({
  actors: { discovery: discoveryMachine, trust: trustMachine },
  types: {
    input: {} as PeerInput,
    context: {} as PeerContext,
    events: {} as PeerEvent,
    emitted: {} as PeerEmitted,
  },
  actions: {
    assignListening: assign(({ event }) => {
      if (event.type !== 'peer.listening') return {};
      return { peerUrl: event.peerUrl, apiUrl: event.apiUrl, startedAt: event.at };
    }),
    assignStop: assign(({ event }) => {
      if (event.type !== 'peer.stop') return {};
      return { stopReason: event.reason };
    }),
    assignStopped: assign(({ event }) => {
      if (event.type !== 'peer.stopped') return {};
      return { stoppedAt: event.at };
    }),
    replyInfo: emit(({ context, event, self }) => {
      const requestId = event.type === 'info.query' ? event.requestId : '';
      const state = self.getSnapshot().value;
      return {
        type: 'reply' as const,
        requestId,
        result: {
          peerId: context.peerId,
          name: context.name,
          fingerprint: context.fingerprint,
          identityKind: context.identityKind,
          peerUrl: context.peerUrl,
          apiUrl: context.apiUrl,
          store: context.store,
          version: context.version,
          startedAt: context.startedAt,
          state: typeof state === 'string' ? state : JSON.stringify(state),
        },
      };
    }),
  },
}).createMachine({
  id: 'peer',
  context: ({ input: { initialPins: _pins, ...input } }) => ({
    ...input,
    peerUrl: null,
    apiUrl: null,
    startedAt: null,
    stoppedAt: null,
    stopReason: null,
  }),
  initial: 'starting',
  entry: [
    spawnChild('discovery', {
      id: 'discovery',
      systemId: 'discovery',
      input: ({ context }) => ({
        stream: 'discovery',
        selfPeerId: context.peerId,
        maxPeers: context.maxPeers,
      }),
    }),
    spawnChild('trust', {
      id: 'trust',
      systemId: 'trust',
      input: ({ event }) => ({
        stream: 'trust',
        pins: (event as { input?: PeerInput }).input?.initialPins ?? {},
      }),
    }),
  ],
  on: {
    'info.query': { actions: 'replyInfo' },
  },
  states: {
    starting: {
      on: {
        'peer.listening': { target: 'running', actions: 'assignListening' },
        'peer.stop': { target: 'stopping', actions: 'assignStop' },
      },
    },
    running: {
      on: {
        'peer.stop': { target: 'stopping', actions: 'assignStop' },
      },
    },
    stopping: {
      on: {
        'peer.stopped': { target: 'stopped', actions: 'assignStopped' },
      },
    },
    stopped: { type: 'final' },
  },
});
