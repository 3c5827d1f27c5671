/**
 * In-process wiring for the handshake driver tests: a recorder over a memory store (so tests can
 * replay what was recorded), pins in a map, and a `post` that calls the responder's handlers
 * directly, with hooks for a man in the middle.
 */
import { randomBytes } from 'node:crypto';
import {
  createActor,
  initialTransition,
  transition,
  type AnyMachineSnapshot,
  type AnyStateMachine,
} from 'xstate';
import type { SpawnActor, PinLookup } from '../../../src/actors/handshake/types.js';
import type { HandshakeResponder } from '../../../src/actors/handshake/responder.js';
import type { PostResult } from '../../../src/actors/handshake/requester.js';
import { createLogWriter, type LogWriter } from '../../../src/actors/log-writer.js';
import { createRecorder } from '../../../src/actors/recorder.js';
import {
  HANDSHAKE_REQUESTER_MACHINE_VERSION,
  handshakeRequesterMachine,
} from '../../../src/machines/handshake-requester.machine.js';
import {
  HANDSHAKE_RESPONDER_MACHINE_VERSION,
  handshakeResponderMachine,
} from '../../../src/machines/handshake-responder.machine.js';
import type { PinState } from '../../../src/machines/handshake.types.js';
import { createMemoryEventStore } from '../../../src/store/memory-event-store.js';
import type { EventStore, RecordedEvent } from '../../../src/store/event-store.js';

export interface Recording {
  readonly store: EventStore;
  readonly writer: LogWriter;
  readonly spawnActor: SpawnActor;
}

/** A spawnActor that records every accepted event into a fresh memory store. */
export function recording(store: EventStore = createMemoryEventStore()): Recording {
  const writer = createLogWriter({}, { store });
  const inspect = createRecorder({
    record: (s, e) => writer.enqueue(s, e),
    now: () => new Date(),
    machineVersions: {
      'handshake-requester': HANDSHAKE_REQUESTER_MACHINE_VERSION,
      'handshake-responder': HANDSHAKE_RESPONDER_MACHINE_VERSION,
    },
  });
  const spawnActor: SpawnActor = (machine, input) =>
    createActor(machine, { input, inspect }).start() as never;
  return { store, writer, spawnActor };
}

/** A spawnActor that records nothing (fuzzing, benchmarks). */
export const plainSpawn: SpawnActor = (machine, input) =>
  createActor(machine, { input }).start() as never;

export function pinsOf(pins: Record<string, PinState> = {}): PinLookup & {
  set(peerId: string, pin: PinState): void;
} {
  const map = new Map(Object.entries(pins));
  return {
    get: (peerId) => map.get(peerId) ?? 'none',
    set: (peerId, pin) => map.set(peerId, pin),
  };
}

export const random = (n: number): Buffer => randomBytes(n);

export interface WireHooks {
  /** Change (or replace) what the requester sends, per path. */
  readonly request?: (path: string, body: unknown) => unknown;
  /** Change what the responder answers, per path. */
  readonly response?: (path: string, result: PostResult) => PostResult;
  /** Every body the requester posted (as sent, before `request`). */
  readonly sent?: Array<{ path: string; body: unknown }>;
}

/** A `post` that hands bodies (through JSON, as HTTP would) straight to the responder. */
export function wire(responder: HandshakeResponder, hooks: WireHooks = {}) {
  return async (_url: string, path: string, body: unknown): Promise<PostResult> => {
    hooks.sent?.push({ path, body });
    const outgoing = JSON.parse(JSON.stringify(hooks.request ? hooks.request(path, body) : body));
    const answer = path.endsWith('/offer')
      ? await responder.handleOffer(outgoing)
      : await responder.handleConfirm(outgoing);
    const result: PostResult = answer.ok
      ? {
          status: 200,
          body: JSON.parse(JSON.stringify('accept' in answer ? answer.accept : answer.done)),
        }
      : {
          status: answer.status,
          body: {
            status: answer.status,
            code: answer.code,
            reason: answer.reason,
            detail: answer.detail,
          },
        };
    return hooks.response ? hooks.response(path, result) : result;
  };
}

const MACHINES: Record<string, AnyStateMachine> = {
  'handshake-requester': handshakeRequesterMachine,
  'handshake-responder': handshakeResponderMachine,
};

/** Replay one recorded stream through `transition()`; returns the replayed `to` states. */
export function replayTo(events: readonly RecordedEvent[]): unknown[] {
  const states: unknown[] = [];
  let snap: AnyMachineSnapshot | undefined;
  for (const e of events) {
    const machine = MACHINES[String(e.meta.machine)];
    if (!machine) throw new Error(`no machine ${String(e.meta.machine)}`);
    if (e.type === 'xstate.init') {
      [snap] = initialTransition(machine, (e.data as { input: unknown }).input);
    } else {
      if (!snap) throw new Error('stream must start with xstate.init');
      [snap] = transition(machine, snap, e.data as { type: string });
    }
    states.push(snap.value);
  }
  return states;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll until `check` holds (timers fire on their own schedule under load); throws after `ms`. */
export async function waitFor(check: () => boolean, ms = 2_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await sleep(5);
  }
}
