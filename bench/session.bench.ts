/**
 * Sealed session traffic in-process: request+response round trips (seal → open → seal response →
 * open, through the session wrapper the HTTP layer uses, re-keying every 1000 messages as in
 * production) and push frames (seal → open), each beside raw AES-256-GCM seal+open of the same
 * plaintext sizes measured in the same run. The gap is what sealing adds on top of the cipher: the
 * HMAC ratchet, JSON of the inner payload, base64url, the replay window and the envelope checks.
 *
 * T7 (perf-ceilings §5) asks sealed HTTP for ≥ 0.7× unsealed HTTP; an express round trip costs
 * ~300 µs, so the in-process overhead reported here is what eats into that budget.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createActor } from 'xstate';
import { createSession, type Session } from '../src/actors/session/session-actor.js';
import type { SessionMaterial } from '../src/actors/session/session-material.js';
import { createReceivingChain, createSendingChain } from '../src/crypto/chain.js';
import { REKEY_PATH, type InnerRequest, type InnerResponse } from '../src/protocol/sealed.codec.js';
import { measureSync, ratioRow, toRate, type BenchModule, type Rate } from './lib.js';

const SIZES = [256, 4096] as const;
/** Server CPU per express 5 request on this box (perf-ceilings §3.7, `express-check.mjs`). */
const EXPRESS_US_PER_REQUEST = 290;
const AAD = randomBytes(80); // about the size of a sealed AAD

/** Raw AES-256-GCM seal+open of each plaintext, counter nonce, one key: the cipher alone. */
function rawGcm(plaintexts: readonly Buffer[]): () => void {
  const key = randomBytes(32);
  const nonce = Buffer.alloc(12);
  let counter = 0;
  return () => {
    for (const plaintext of plaintexts) {
      nonce.writeUInt32BE(counter++ >>> 0, 8);
      const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
      cipher.setAAD(AAD);
      const ct = cipher.update(plaintext);
      cipher.final();
      const tag = cipher.getAuthTag();
      const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
      decipher.setAAD(AAD);
      decipher.setAuthTag(tag);
      decipher.update(ct);
      decipher.final();
    }
  };
}

function pairOfSessions(): { a: Session; b: Session } {
  const keys = [0, 1, 2, 3].map(() => randomBytes(32));
  const [reqI2R, reqR2I, pushI2R, pushR2I] = keys as [Buffer, Buffer, Buffer, Buffer];
  const sid = randomBytes(16).toString('base64url');
  const base = { sid, keyId: '0123456789abcdef', suite: 'x25519-aes256gcm' };
  const copy = (b: Buffer) => Buffer.from(b);
  const requester: SessionMaterial = {
    ...base,
    peerId: 'b'.repeat(64),
    role: 'requester',
    chains: {
      sendRequests: copy(reqI2R),
      recvRequests: copy(reqR2I),
      sendPush: copy(pushI2R),
      recvPush: copy(pushR2I),
    },
  };
  const responder: SessionMaterial = {
    ...base,
    peerId: 'a'.repeat(64),
    role: 'responder',
    chains: {
      sendRequests: copy(reqR2I),
      recvRequests: copy(reqI2R),
      sendPush: copy(pushR2I),
      recvPush: copy(pushI2R),
    },
  };
  const deps = {
    now: () => new Date(),
    spawnActor: ((machine, input) =>
      createActor(machine, { input, inspect: () => undefined }).start()) as Parameters<
      typeof createSession
    >[1]['spawnActor'],
  };
  return { a: createSession(requester, deps), b: createSession(responder, deps) };
}

function roundTrip(a: Session, b: Session, inner: InnerRequest, reply: InnerResponse) {
  const envelope = a.sealRequest(inner);
  const opened = b.openRequest(envelope);
  const response = opened.inner.path === REKEY_PATH ? b.handleRekey(opened) : reply;
  return a.openResponse(envelope, b.sealResponse(opened, response));
}

/** The production re-key: due every 1000 messages for the requester. */
function rekeyIfDue(a: Session, b: Session, filler: InnerResponse): void {
  if (!a.needsRekey()) return;
  const start = a.startRekey();
  if (start === undefined) return;
  const confirm = a.completeRekey(roundTrip(a, b, start, filler));
  if (confirm !== undefined) roundTrip(a, b, confirm, filler);
}

/** An inner value whose JSON is `size` bytes (± a few), with a string body. */
function sized<T extends object>(shell: (text: string) => T, size: number): T {
  const overhead = JSON.stringify(shell('')).length;
  return shell('x'.repeat(Math.max(0, size - overhead)));
}

function better(x: Rate, y: Rate): Rate {
  return x.opsPerSec > y.opsPerSec ? x : y;
}

/** Baseline and ours twice, interleaved, keeping the better of each (less drift). */
function pair(baseline: () => void, ours: () => void): { base: Rate; ours: Rate } {
  const b1 = measureSync(baseline);
  const o1 = measureSync(ours);
  const b2 = measureSync(baseline);
  const o2 = measureSync(ours);
  return { base: better(b1, b2), ours: better(o1, o2) };
}

const bench: BenchModule = {
  title: 'session: sealed request/response round trips and push frames vs raw AES-256-GCM',
  async run(report) {
    const { a, b } = pairOfSessions();
    for (const size of SIZES) {
      const request = sized(
        (text): InnerRequest => ({ method: 'POST', path: '/rooms/r1/messages', body: { text } }),
        size,
      );
      const response = sized((text): InnerResponse => ({ status: 200, body: { text } }), size);
      const plaintexts = [JSON.stringify(request), JSON.stringify(response)].map((s) =>
        Buffer.from(s),
      );
      const { base, ours } = pair(rawGcm(plaintexts), () => {
        rekeyIfDue(a, b, response);
        roundTrip(a, b, request, response);
      });
      report(
        ratioRow(
          'session/sealed',
          `sealed request+response round trip ${size} B`,
          ours,
          { name: 'raw aes-256-gcm 2× seal+open', rate: base },
          { note: 'in-process; re-keys every 1000 messages (X25519 included)' },
        ),
      );
      // The server opens the request and seals the response: about half the round trip.
      const serverUs = ours.usPerOp / 2;
      report(
        ratioRow(
          'session/sealed',
          `projected T7: sealed vs plain express ${size} B`,
          toRate(1e6 / (EXPRESS_US_PER_REQUEST + serverUs)),
          { name: 'express (290 µs/req)', rate: toRate(1e6 / EXPRESS_US_PER_REQUEST) },
          {
            minRatio: 0.7,
            note: `projection, not a measurement: + ${serverUs.toFixed(1)} µs server CPU per request`,
          },
        ),
      );
    }

    for (const size of SIZES) {
      const push = sized((text) => ({ type: 'room.message', text }), size);
      const { base, ours } = pair(rawGcm([Buffer.from(JSON.stringify(push))]), () => {
        b.openPush(a.sealPush(push));
        rekeyIfDue(a, b, { status: 200 });
      });
      report(
        ratioRow(
          'session/push',
          `push frame seal+open ${size} B`,
          ours,
          { name: 'raw aes-256-gcm seal+open', rate: base },
          { note: 'in-process, binary frame' },
        ),
      );
    }

    const send = createSendingChain(randomBytes(32), { limit: Number.MAX_SAFE_INTEGER });
    const recv = createReceivingChain(randomBytes(32));
    let seq = 0;
    report(
      ratioRow(
        'session/chain',
        'ratchet step: send next() + receive lookup/accept',
        measureSync(() => {
          send.next().key.fill(0);
          recv.lookup(seq);
          recv.accept(seq++).fill(0);
        }),
        undefined,
        { note: 'informational: 4 HMAC-SHA256' },
      ),
    );

    const fresh = pairOfSessions();
    report(
      ratioRow(
        'session/rekey',
        're-key (start → handle → complete → confirm)',
        measureSync(() => {
          const start = fresh.a.startRekey();
          if (start === undefined) throw new Error('re-key refused');
          const confirm = fresh.a.completeRekey(
            roundTrip(fresh.a, fresh.b, start, { status: 200 }),
          );
          if (confirm === undefined) throw new Error('re-key not completed');
          roundTrip(fresh.a, fresh.b, confirm, { status: 200 });
        }),
        undefined,
        { note: 'informational: 2 X25519 keygen + 2 DH + 2 HKDF + 2 sealed round trips' },
      ),
    );
    for (const s of [a, b, fresh.a, fresh.b]) s.close('bench over');
    await Promise.resolve();
  },
};

export default bench;
