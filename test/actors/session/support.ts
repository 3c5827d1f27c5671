/**
 * Two in-process session ends built from one fake handshake: four random chain keys, assigned to
 * send/receive by role, plus a recorder so tests can read what the log would hold.
 */
import { randomBytes } from 'node:crypto';
import { createActor } from 'xstate';
import { createRecorder } from '../../../src/actors/recorder.js';
import {
  createSession,
  type Session,
  type SessionInit,
} from '../../../src/actors/session/session-actor.js';
import type { SessionMaterial } from '../../../src/actors/session/session-material.js';
import { SESSION_MACHINE_VERSION } from '../../../src/machines/session.machine.js';
import {
  REKEY_PATH,
  type InnerRequest,
  type InnerResponse,
} from '../../../src/protocol/sealed.codec.js';
import type { NewEvent } from '../../../src/store/event-store.js';

export const REQUESTER_ID = 'a'.repeat(64);
export const RESPONDER_ID = 'b'.repeat(64);

export interface FakeHandshake {
  readonly sid: string;
  readonly keyId: string;
  /** The raw keys, for scanning logs: req i→r, req r→i, push i→r, push r→i. */
  readonly secrets: readonly Buffer[];
  requester(): SessionMaterial;
  responder(): SessionMaterial;
}

/** One handshake's worth of material; each call of `requester()`/`responder()` gives fresh copies. */
export function fakeHandshake(): FakeHandshake {
  const [reqI2R, reqR2I, pushI2R, pushR2I] = [0, 1, 2, 3].map(() => randomBytes(32)) as [
    Buffer,
    Buffer,
    Buffer,
    Buffer,
  ];
  const sid = randomBytes(16).toString('base64url');
  const keyId = randomBytes(8).toString('hex');
  const copy = (b: Buffer) => Buffer.from(b);
  return {
    sid,
    keyId,
    secrets: [reqI2R, reqR2I, pushI2R, pushR2I],
    requester: () => ({
      sid,
      peerId: RESPONDER_ID,
      role: 'requester',
      keyId,
      suite: 'x25519-aes256gcm',
      chains: {
        sendRequests: copy(reqI2R),
        recvRequests: copy(reqR2I),
        sendPush: copy(pushI2R),
        recvPush: copy(pushR2I),
      },
    }),
    responder: () => ({
      sid,
      peerId: REQUESTER_ID,
      role: 'responder',
      keyId,
      suite: 'x25519-aes256gcm',
      chains: {
        sendRequests: copy(reqR2I),
        recvRequests: copy(reqI2R),
        sendPush: copy(pushR2I),
        recvPush: copy(pushI2R),
      },
    }),
  };
}

export interface Clock {
  readonly now: () => Date;
  readonly advance: (ms: number) => void;
}

export function fakeClock(start = Date.parse('2025-01-01T00:00:00.000Z')): Clock {
  let t = start;
  return {
    now: () => new Date(t),
    advance: (ms) => {
      t += ms;
    },
  };
}

export interface Pair {
  readonly a: Session;
  readonly b: Session;
  readonly hs: FakeHandshake;
  readonly clock: Clock;
  /** Everything the recorder wrote, per stream. */
  readonly records: Array<{ stream: string; event: NewEvent }>;
}

/** A requester (`a`) and responder (`b`) session over one fake handshake, both recorded. */
export function sessionPair(init: SessionInit = {}, clock: Clock = fakeClock()): Pair {
  const hs = fakeHandshake();
  const records: Array<{ stream: string; event: NewEvent }> = [];
  const recorder = createRecorder({
    record: (stream, event) => records.push({ stream, event }),
    now: clock.now,
    machineVersions: { session: SESSION_MACHINE_VERSION },
  });
  const deps = {
    now: clock.now,
    spawnActor: ((machine, input) =>
      createActor(machine, { input, inspect: recorder }).start()) as Parameters<
      typeof createSession
    >[1]['spawnActor'],
  };
  return {
    a: createSession(hs.requester(), deps, init),
    b: createSession(hs.responder(), deps, init),
    hs,
    clock,
    records,
  };
}

/** JSON round trip, as the HTTP layer would do to an envelope. */
export const overTheWire = <T>(value: T): unknown => JSON.parse(JSON.stringify(value));

/** The server side of one sealed exchange: re-key requests to `handleRekey`, others echoed. */
export function serve(session: Session, envelope: unknown): unknown {
  const opened = session.openRequest(envelope);
  const response: InnerResponse =
    opened.inner.path === REKEY_PATH
      ? session.handleRekey(opened)
      : { status: 200, body: { echo: opened.inner.body ?? null, seq: opened.seq } };
  return overTheWire(session.sealResponse(opened, response));
}

/** One full sealed request/response from `from` to `to`. */
export function exchange(from: Session, to: Session, inner: InnerRequest): InnerResponse {
  const envelope = from.sealRequest(inner);
  return from.openResponse(envelope, serve(to, overTheWire(envelope)));
}

/** `from` runs a whole re-key against `to`; returns false when `startRekey` had nothing to do. */
export function rekey(from: Session, to: Session): boolean {
  const request = from.startRekey();
  if (request === undefined) return false;
  const confirm = from.completeRekey(exchange(from, to, request));
  if (confirm !== undefined) exchange(from, to, confirm);
  return true;
}

export const post = (body: unknown = { hello: 'world' }): InnerRequest => ({
  method: 'POST',
  path: '/rooms/r1/messages',
  body,
});
