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
import { DISCOVERY_MACHINE_VERSION, discoveryMachine } from '../machines/discovery.machine.js';
import { PEER_MACHINE_VERSION, peerMachine } from '../machines/peer.machine.js';
import { TRUST_MACHINE_VERSION, trustMachine } from '../machines/trust.machine.js';
import {
  HANDSHAKE_REQUESTER_MACHINE_VERSION,
  handshakeRequesterMachine,
} from '../machines/handshake-requester.machine.js';
import {
  HANDSHAKE_RESPONDER_MACHINE_VERSION,
  handshakeResponderMachine,
} from '../machines/handshake-responder.machine.js';
import { SESSION_MACHINE_VERSION, sessionMachine } from '../machines/session.machine.js';
import { ROOM_MACHINE_VERSION, roomMachine } from '../machines/room.machine.js';
import { ROTATION_MACHINE_VERSION, rotationMachine } from '../machines/rotation.machine.js';
import type { RecordedEvent } from '../store/event-store.js';
import { sanitize } from './sanitize.js';

interface Replayable {
  readonly machine: AnyStateMachine;
  readonly version: number;
}

/**
 * Machines a recorded stream can be replayed through, by `meta.machine`. A machine that records
 * to the log must be here (or registered): a stream of an unknown machine cannot be replayed, and
 * the replay-every-stream test fails on it.
 */
const MACHINES = new Map<string, Replayable>([
  ['peer', { machine: peerMachine, version: PEER_MACHINE_VERSION }],
  ['discovery', { machine: discoveryMachine, version: DISCOVERY_MACHINE_VERSION }],
  ['trust', { machine: trustMachine, version: TRUST_MACHINE_VERSION }],
  [
    'handshake-requester',
    { machine: handshakeRequesterMachine, version: HANDSHAKE_REQUESTER_MACHINE_VERSION },
  ],
  [
    'handshake-responder',
    { machine: handshakeResponderMachine, version: HANDSHAKE_RESPONDER_MACHINE_VERSION },
  ],
  ['session', { machine: sessionMachine, version: SESSION_MACHINE_VERSION }],
  ['room', { machine: roomMachine, version: ROOM_MACHINE_VERSION }],
  ['rotation', { machine: rotationMachine, version: ROTATION_MACHINE_VERSION }],
]);

/**
 * Make a machine's streams replayable (by its `id`, which the recorder writes as `meta.machine`).
 *
 * @example
 * registerReplayMachine(roomMachine, ROOM_MACHINE_VERSION);
 */
export function registerReplayMachine(machine: AnyStateMachine, version = 1): void {
  MACHINES.set(machine.id, { machine, version });
}

/** Ids of the machines replay knows, with the version this build of conclave runs. */
export function replayableMachines(): Readonly<Record<string, number>> {
  return Object.fromEntries([...MACHINES].map(([id, r]) => [id, r.version]));
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
  /** Machine of the last replayed step (a session stream holds its handshake's, then its own). */
  readonly machine: string | null;
  /** Every machine seen in the stream, in order of first appearance. */
  readonly machines: readonly string[];
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
  /** Reasons to doubt a clean result, e.g. events recorded by another machine version. */
  readonly warnings: readonly string[];
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

/** Which actor a record belongs to: one stream may hold several actors, one after another. */
function actorKey(e: RecordedEvent, machine: string): string {
  return `${machine}|${typeof e.meta.actorId === 'string' ? e.meta.actorId : ''}`;
}

function versionWarning(e: RecordedEvent, id: string, current: number): string | null {
  const recorded = e.meta.machineVersion;
  return typeof recorded === 'number' && recorded !== current
    ? `recorded by ${id} machine version ${recorded}; this conclave runs version ${current}, so differences may come from the change`
    : null;
}

/**
 * Replay `events` (one stream, in version order), optionally stopping after `atPosition`. Each
 * actor's records replay from its own `xstate.init`, so a stream holding a handshake and then the
 * session it opened replays both.
 *
 * @example
 * const r = replayStream('trust', await store.readStream('trust'));
 * if (r.mismatches > 0 || r.problem) console.log(r.steps.filter((s) => !s.isMatch));
 */
export function replayStream(
  stream: string,
  events: readonly RecordedEvent[],
  atPosition?: number,
): ReplayResult {
  const steps: ReplayStep[] = [];
  const snapshots = new Map<string, AnyMachineSnapshot>();
  const machines: string[] = [];
  const warnings = new Set<string>();
  let snap: AnyMachineSnapshot | undefined;
  let machineId: string | null = null;
  let problem: string | null = null;
  for (const e of events) {
    if (atPosition !== undefined && e.position > atPosition) break;
    const id = typeof e.meta.machine === 'string' ? e.meta.machine : null;
    const known = id !== null ? MACHINES.get(id) : undefined;
    if (id === null || !known) {
      problem = `no machine definition for "${id ?? '?'}" (recorded by a newer or different conclave?)`;
      break;
    }
    if (!machines.includes(id)) machines.push(id);
    const warning = versionWarning(e, id, known.version);
    if (warning) warnings.add(warning);
    machineId = id;
    const key = actorKey(e, id);
    if (e.type === 'xstate.init') {
      [snap] = initialTransition(known.machine, (e.data as { input?: unknown }).input);
    } else {
      const before = snapshots.get(key);
      if (before === undefined) {
        problem = `the ${id} actor's records do not start with xstate.init (first event ${e.type} at #${e.position})`;
        break;
      }
      [snap] = transition(known.machine, before, e.data as { type: string });
    }
    snapshots.set(key, snap);
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
    machines,
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
    warnings: [...warnings],
  };
}
