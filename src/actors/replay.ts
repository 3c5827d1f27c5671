/**
 * Replays a recorded stream through its machine definition with the pure `transition()` API and
 * compares every replayed state with the recorded one. This is how a failure is explained after
 * the fact: the recorded events carry every nondeterministic input, so the machine must land in
 * the same states; a step where it does not is flagged (a changed machine, or a doctored log).
 */
import {
  initialTransition,
  transition,
  type AnyMachineSnapshot,
  type AnyStateMachine,
} from 'xstate';
import { discoveryMachine } from '../machines/discovery.machine.js';
import { peerMachine } from '../machines/peer.machine.js';
import { trustMachine } from '../machines/trust.machine.js';
import { handshakeRequesterMachine } from '../machines/handshake-requester.machine.js';
import { handshakeResponderMachine } from '../machines/handshake-responder.machine.js';
import { sessionMachine } from '../machines/session.machine.js';
import type { RecordedEvent } from '../store/event-store.js';
import { sanitize } from './sanitize.js';

/** Machines a recorded stream can be replayed through, by `meta.machine`. */
const MACHINES = new Map<string, AnyStateMachine>([
  ['peer', peerMachine],
  ['discovery', discoveryMachine],
  ['trust', trustMachine],
  ['handshake-requester', handshakeRequesterMachine],
  ['handshake-responder', handshakeResponderMachine],
  ['session', sessionMachine],
]);

export function registerReplayMachine(machine: AnyStateMachine): void {
  MACHINES.set(machine.id, machine);
}

export interface ReplayStep {
  readonly position: number;
  readonly version: number;
  readonly type: string;
  readonly recordedAt: string | null;
  readonly from: unknown;
  readonly recordedTo: unknown;
  readonly replayedTo: unknown;
  readonly isMatch: boolean;
  /** Short facts worth showing (peer, suite, reason, …), taken from the event. */
  readonly facts: Readonly<Record<string, unknown>>;
}

export interface ReplayResult {
  readonly stream: string;
  readonly machine: string | null;
  readonly steps: readonly ReplayStep[];
  readonly mismatches: number;
  /** State and sanitized context after the last replayed step. */
  readonly final: {
    readonly state: unknown;
    readonly status: string;
    readonly context: unknown;
  } | null;
  /** Why replay could not run (unknown machine, stream not starting with xstate.init, …). */
  readonly problem: string | null;
}

const FACT_KEYS = [
  'peerId',
  'from',
  'to',
  'sid',
  'suite',
  'reason',
  'code',
  'fingerprint',
  'keyId',
  'epoch',
  'name',
  'url',
  'change',
];

function factsOf(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of FACT_KEYS) {
    const v = data[k];
    if (typeof v === 'string' || typeof v === 'number')
      out[k] =
        typeof v === 'string' && v.length > 20 && /^[0-9a-f]+$/.test(v) ? `${v.slice(0, 12)}…` : v;
  }
  const facts = data.facts;
  if (facts && typeof facts === 'object') {
    for (const [k, v] of Object.entries(facts))
      if (typeof v === 'boolean' || typeof v === 'string') out[k] = v;
  }
  return out;
}

const same = (a: unknown, b: unknown): boolean =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Replay `events` (one stream, in version order), optionally stopping after `atPosition`. */
export function replayStream(
  stream: string,
  events: readonly RecordedEvent[],
  atPosition?: number,
): ReplayResult {
  const steps: ReplayStep[] = [];
  let snap: AnyMachineSnapshot | undefined;
  let machineId: string | null = null;
  let problem: string | null = null;
  for (const e of events) {
    if (atPosition !== undefined && e.position > atPosition) break;
    const id = typeof e.meta.machine === 'string' ? e.meta.machine : null;
    const machine = id !== null ? MACHINES.get(id) : undefined;
    if (!machine) {
      problem = `no machine definition for "${id ?? '?'}" (recorded by a newer or different conclave?)`;
      break;
    }
    machineId = id;
    if (e.type === 'xstate.init') {
      [snap] = initialTransition(machine, (e.data as { input?: unknown }).input);
    } else if (snap === undefined) {
      problem = `stream does not start with xstate.init (first event ${e.type} at #${e.position})`;
      break;
    } else {
      [snap] = transition(machine, snap, e.data as { type: string });
    }
    const replayedTo = sanitize(snap.value) ?? null;
    steps.push({
      position: e.position,
      version: e.version,
      type: e.type,
      recordedAt: typeof e.meta.recordedAt === 'string' ? e.meta.recordedAt : null,
      from: e.meta.from ?? null,
      recordedTo: e.meta.to ?? null,
      replayedTo,
      isMatch: same(replayedTo, e.meta.to),
      facts: factsOf(e.data),
    });
  }
  return {
    stream,
    machine: machineId,
    steps,
    mismatches: steps.filter((s) => !s.isMatch).length,
    final: snap
      ? {
          state: sanitize(snap.value) ?? null,
          status: snap.status,
          context: sanitize(snap.context) ?? null,
        }
      : null,
    problem,
  };
}
