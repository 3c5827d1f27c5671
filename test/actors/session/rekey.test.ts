import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OpenedRequest, Session } from '../../../src/actors/session/session-actor.js';
import { REKEY_PATH, type InnerRequest } from '../../../src/protocol/sealed.codec.js';
import { exchange, overTheWire, post, rekey, serve, sessionPair, type Pair } from './support.js';

const code = (fn: () => unknown): string => {
  try {
    fn();
    return 'none';
  } catch (e) {
    return (e as { code?: string }).code ?? 'uncoded';
  }
};

let pairs: Pair[] = [];
const pair = (...args: Parameters<typeof sessionPair>) => {
  const p = sessionPair(...args);
  pairs.push(p);
  return p;
};
afterEach(() => {
  for (const p of pairs) {
    p.a.close('test over');
    p.b.close('test over');
  }
  pairs = [];
  vi.useRealTimers();
});

const keysState = (s: Session) =>
  (JSON.parse(s.info().state) as { active: { keys: string } }).active.keys;

function expectSameEpoch(a: Session, b: Session, epoch: number): void {
  expect(a.info().epoch).toBe(epoch);
  expect(b.info().epoch).toBe(epoch);
  expect(a.info().keyId).toBe(b.info().keyId);
  expect(keysState(a)).toBe('current');
  expect(keysState(b)).toBe('current');
  // And the keys really agree: traffic flows both ways on the new epoch.
  const env = a.sealRequest(post('after'));
  expect(env.epoch).toBe(epoch);
  expect(a.openResponse(env, serve(b, overTheWire(env))).status).toBe(200);
  expect(exchange(b, a, post('back')).status).toBe(200);
  expect(a.openPush(b.sealPush({ type: 'p' }))).toEqual({ type: 'p' });
  expect(b.openPush(a.sealPush({ type: 'p' }))).toEqual({ type: 'p' });
}

/** One side's sealed re-key request, opened by the other (the HTTP hop in the middle). */
function deliver(from: Session, to: Session, inner: InnerRequest) {
  const envelope = from.sealRequest(inner);
  const opened = to.openRequest(overTheWire(envelope));
  return { envelope, opened };
}

function answer(to: Session, opened: OpenedRequest): unknown {
  return overTheWire(to.sealResponse(opened, to.handleRekey(opened)));
}

describe('re-keying', () => {
  it('is due for the requester after N messages, and both sides end on the same new epoch', () => {
    const { a, b } = pair({ rekeyAfterMessages: 20 });
    const epoch0 = a.info().keyId;
    let exchanges = 0;
    while (!a.needsRekey()) {
      exchange(a, b, post(exchanges++));
      expect(exchanges).toBeLessThan(20);
    }
    expect(b.needsRekey()).toBe(false); // the responder waits for twice as many
    expect(rekey(a, b)).toBe(true);
    expect(a.needsRekey()).toBe(false);
    expectSameEpoch(a, b, 1);
    expect(a.info().keyId).not.toBe(epoch0);
  });

  it('wipes the old epoch after the grace, refusing its late messages', () => {
    const { a, b, clock, records } = pair({ graceMs: 5_000 });
    const lateRequest = a.sealRequest(post('late'));
    const latePush = b.sealPush({ type: 'late' });
    rekey(a, b);
    expect(a.info().stats.heldEpochs).toEqual([0, 1]);
    clock.advance(5_001);
    expect(a.info().stats.heldEpochs).toEqual([1]);
    expect(b.info().stats.heldEpochs).toEqual([1]);
    expect(code(() => b.openRequest(overTheWire(lateRequest)))).toBe('ERR_DECRYPT_FAILED');
    expect(code(() => a.openPush(latePush))).toBe('ERR_DECRYPT_FAILED');
    expect(b.info().stats.failures['unknown-epoch']).toBe(1);
    expect(records.filter((r) => r.event.type === 'epoch.retired')).toHaveLength(2);
  });

  it('still opens in-flight old-epoch messages during the grace, and answers them', () => {
    const { a, b } = pair();
    const inFlight = a.sealRequest(post('in flight'));
    const latePush = b.sealPush({ type: 'late' });
    rekey(a, b);
    const opened = b.openRequest(overTheWire(inFlight));
    expect(opened.epoch).toBe(0);
    const response = overTheWire(b.sealResponse(opened, { status: 200, body: 'ok' }));
    expect(a.openResponse(inFlight, response).body).toBe('ok');
    expect(a.openPush(latePush)).toEqual({ type: 'late' });
  });

  it('keeps the peer on the old epoch until the initiator proves it has the new keys', () => {
    const { a, b } = pair();
    const start = a.startRekey()!;
    const { envelope, opened } = deliver(a, b, start);
    const response = answer(b, opened);
    expect(b.info().stats.rekey).toBe('awaiting-confirmation');
    expect(b.sealPush({ type: 'x' }).readUInt32BE(9)).toBe(0); // epoch field of the frame
    expect(b.sealRequest(post()).epoch).toBe(0);
    const confirm = a.completeRekey(a.openResponse(envelope, response))!;
    expect(a.sealRequest(post()).epoch).toBe(1);
    const confirmEnv = a.sealRequest(confirm);
    expect(confirmEnv.epoch).toBe(1);
    const openedConfirm = b.openRequest(overTheWire(confirmEnv));
    expect(b.info().epoch).toBe(1);
    expect(b.handleRekey(openedConfirm)).toEqual({
      status: 200,
      body: { type: 'rekey.confirmed', epoch: 1 },
    });
    expectSameEpoch(a, b, 1);
  });

  it('answers a retried re-key with the same key, whichever answer arrives', () => {
    const { a, b } = pair();
    const first = a.startRekey()!;
    const second = a.startRekey()!;
    expect(second).toEqual(first);
    const r1 = deliver(a, b, first);
    const lost = answer(b, r1.opened);
    const r2 = deliver(a, b, second);
    const resent = answer(b, r2.opened);
    const body1 = a.openResponse(r1.envelope, lost).body;
    const body2 = a.openResponse(r2.envelope, resent);
    expect(body2.body).toEqual(body1);
    exchange(a, b, a.completeRekey(body2)!);
    expectSameEpoch(a, b, 1);
  });

  it('converges when both sides start at once: the requester’s re-key wins (its request first)', () => {
    const { a, b } = pair();
    const fromA = deliver(a, b, a.startRekey()!);
    const fromB = deliver(b, a, b.startRekey()!);
    // b (responder) drops its own and answers a's; a (requester) refuses b's.
    const answerToA = answer(b, fromA.opened);
    const answerToB = answer(a, fromB.opened);
    expect(b.completeRekey(b.openResponse(fromB.envelope, answerToB))).toBeUndefined();
    const confirm = a.completeRekey(a.openResponse(fromA.envelope, answerToA))!;
    exchange(a, b, confirm);
    expectSameEpoch(a, b, 1);
  });

  it('converges when both sides start at once (the responder’s request first)', () => {
    const { a, b } = pair();
    const fromB = deliver(b, a, b.startRekey()!);
    const fromA = deliver(a, b, a.startRekey()!);
    const answerToB = answer(a, fromB.opened); // conflict: a's own is pending
    expect(b.completeRekey(b.openResponse(fromB.envelope, answerToB))).toBeUndefined();
    expect(keysState(b)).toBe('rekeyDue');
    const answerToA = answer(b, fromA.opened);
    const confirm = a.completeRekey(a.openResponse(fromA.envelope, answerToA))!;
    exchange(a, b, confirm);
    expectSameEpoch(a, b, 1);
  });

  it('refuses to start while the peer’s re-key awaits confirmation', () => {
    const { a, b } = pair();
    const fromA = deliver(a, b, a.startRekey()!);
    answer(b, fromA.opened);
    expect(b.startRekey()).toBeUndefined();
    expect(b.needsRekey()).toBe(false);
  });

  it('refuses stale, invalid and low-order re-key requests', () => {
    const { b } = pair();
    const opened = (body: unknown): OpenedRequest => ({
      epoch: 0,
      seq: 0,
      inner: { method: 'POST', path: REKEY_PATH, body },
    });
    const eph = Buffer.alloc(32, 9).toString('base64url');
    expect(b.handleRekey(opened({ type: 'rekey', epoch: 5, eph })).body).toMatchObject({
      type: 'rekey.reject',
      reason: 'stale',
    });
    const zero = Buffer.alloc(32).toString('base64url');
    expect(b.handleRekey(opened({ type: 'rekey', epoch: 1, eph: zero })).body).toMatchObject({
      reason: 'invalid',
    });
    expect(code(() => b.handleRekey(opened({ type: 'rekey' })))).toBe('ERR_INVALID_MESSAGE');
    expect(
      code(() => b.handleRekey({ ...opened({ type: 'rekey', epoch: 1, eph }), inner: post() })),
    ).toBe('ERR_INVALID_MESSAGE');
    expect(b.info().epoch).toBe(0);
  });

  it('ignores responses that do not answer the re-key under way', () => {
    const { a } = pair();
    expect(a.completeRekey({ status: 200, body: { type: 'rekey.confirmed', epoch: 1 } })).toBe(
      undefined,
    );
    a.startRekey();
    expect(a.completeRekey({ status: 500 })).toBeUndefined();
    expect(a.info().stats.rekey).toBe('awaiting-response');
  });

  it('never seals past the per-epoch cap, and a re-key lifts it (A19)', () => {
    const { a, b } = pair({ maxMessagesPerEpoch: 5 });
    for (let i = 0; i < 4; i++) exchange(a, b, post(i));
    expect(code(() => a.sealRequest(post()))).toBe('none');
    expect(code(() => a.sealRequest(post()))).toBe('ERR_NONCE_EXHAUSTED');
    // The re-key request itself needs one more message: cap the chains, not the re-key.
    const { a: a2, b: b2 } = pair({ maxMessagesPerEpoch: 5 });
    for (let i = 0; i < 4; i++) exchange(a2, b2, post(i));
    expect(rekey(a2, b2)).toBe(true);
    expect(code(() => a2.sealRequest(post()))).toBe('none');
  });

  it('runs many epochs in a row, holding at most two at a time', () => {
    const { a, b, clock } = pair({ rekeyAfterMessages: 10, graceMs: 1_000 });
    for (let epoch = 1; epoch <= 6; epoch++) {
      while (!a.needsRekey()) exchange(a, b, post());
      const [initiator, peer] = epoch % 2 === 0 ? [b, a] : [a, b];
      expect(rekey(initiator, peer)).toBe(true);
      expect(a.info().stats.heldEpochs.length).toBeLessThanOrEqual(2);
      expectSameEpoch(a, b, epoch);
      clock.advance(1_001);
    }
    expect(b.info().stats.heldEpochs).toEqual([6]);
  });

  it('lets the responder start a re-key too', () => {
    const { a, b } = pair();
    expect(rekey(b, a)).toBe(true);
    expectSameEpoch(a, b, 1);
  });

  it('becomes due by time, through the machine’s timer', () => {
    vi.useFakeTimers();
    const { a, b } = pair({ rekeyAfterMs: 60_000, idleTimeoutMs: 3_600_000 });
    expect(a.needsRekey()).toBe(false);
    vi.advanceTimersByTime(60_001);
    expect(a.needsRekey()).toBe(true);
    expect(b.needsRekey()).toBe(false);
    vi.advanceTimersByTime(60_000);
    expect(b.needsRekey()).toBe(true);
  });
});
