import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import {
  handshakeResponderMachine,
  type HandshakeResponderEvent,
  type HandshakeResponderInput,
} from '../../src/machines/handshake-responder.machine.js';
import type { OfferFacts, OfferSummary } from '../../src/machines/handshake.types.js';

const SELF = 'b'.repeat(64);
const PEER = 'a'.repeat(64);
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();

const input: HandshakeResponderInput = {
  stream: `session:${PEER}:sid1`,
  sid: 'sid1',
  selfPeerId: SELF,
  acceptedSuites: ['x25519-aes256gcm', 'rsaoaep-aes256gcm'],
  freshnessMs: 60_000,
  timeoutMs: 10_000,
};

const goodFacts: OfferFacts = {
  isReplayed: false,
  identityMatches: true,
  signatureValid: true,
  pin: 'none',
};

function offerReceived(
  over: Partial<OfferSummary> = {},
  facts: Partial<OfferFacts> = {},
  receivedAt = T0 + 1_000,
): HandshakeResponderEvent {
  return {
    type: 'offer.received',
    offer: {
      sid: 'sid1',
      from: PEER,
      kind: 'ed25519',
      to: SELF,
      nonce: 'n'.repeat(43),
      ts: T0,
      suites: ['x25519-aes256gcm'],
      ...over,
    },
    receivedAt: iso(receivedAt),
    facts: { ...goodFacts, ...facts },
  };
}

const acceptSent: HandshakeResponderEvent = {
  type: 'accept.sent',
  keyId: '0123456789abcdef',
  sas: '11111 22222 33333 44444',
  ts: T0 + 1_000,
  nonce: 'm'.repeat(43),
  at: iso(T0 + 1_001),
};

function run(events: readonly HandshakeResponderEvent[], given = input) {
  let [snap] = initialTransition(handshakeResponderMachine, given);
  for (const e of events) [snap] = transition(handshakeResponderMachine, snap, e);
  return snap;
}

describe('handshake-responder machine', () => {
  it('establishes in ECDH mode: offer → accepting (suite chosen) → awaitingConfirm → established', () => {
    const accepting = run([offerReceived()]);
    expect(accepting.value).toBe('accepting');
    expect(accepting.context).toMatchObject({ suite: 'x25519-aes256gcm', peerId: PEER });
    const waiting = run([offerReceived(), acceptSent]);
    expect(waiting.value).toBe('awaitingConfirm');
    const done = run([
      offerReceived(),
      acceptSent,
      { type: 'confirm.received', macValid: true, at: iso(T0 + 1_100) },
    ]);
    expect(done.value).toBe('established');
    expect(done.status).toBe('done');
    expect(done.context).toMatchObject({
      peerId: PEER,
      peerKind: 'ed25519',
      suite: 'x25519-aes256gcm',
      keyId: acceptSent.keyId,
      sas: acceptSent.sas,
      establishedAt: iso(T0 + 1_100),
      reason: null,
    });
  });

  it('establishes in RSA mode when only RSA is offered', () => {
    const done = run([
      offerReceived({ suites: ['rsaoaep-aes256gcm'] }),
      acceptSent,
      { type: 'confirm.received', macValid: true, at: iso(T0 + 1_100) },
    ]);
    expect(done.value).toBe('established');
    expect(done.context.suite).toBe('rsaoaep-aes256gcm');
  });

  it('chooses the first suite of its own preference that was offered', () => {
    const both = offerReceived({ suites: ['rsaoaep-aes256gcm', 'x25519-aes256gcm'] });
    expect(run([both]).context.suite).toBe('x25519-aes256gcm');
    const rsaFirst = {
      ...input,
      acceptedSuites: ['rsaoaep-aes256gcm', 'x25519-aes256gcm'],
    } as const;
    expect(
      run([offerReceived({ suites: ['x25519-aes256gcm', 'rsaoaep-aes256gcm'] })], rsaFirst).context
        .suite,
    ).toBe('rsaoaep-aes256gcm');
  });

  it('accepts an offer for any responder when `to` is null', () => {
    expect(run([offerReceived({ to: null })]).value).toBe('accepting');
  });

  describe('one failure per reason (protocol §2.2)', () => {
    it.each<[string, HandshakeResponderEvent]>([
      ['wrong-peer', offerReceived({ to: 'c'.repeat(64) })],
      ['stale', offerReceived({}, {}, T0 + 60_001)],
      ['stale', offerReceived({ ts: T0 + 61_001 })],
      ['replayed', offerReceived({}, { isReplayed: true })],
      ['identity-mismatch', offerReceived({}, { identityMatches: false })],
      ['bad-signature', offerReceived({}, { signatureValid: false })],
      ['blocked', offerReceived({}, { pin: 'blocked' })],
      ['unknown-suite', offerReceived({ suites: ['x448-future'] })],
    ])('%s', (reason, event) => {
      const snap = run([event]);
      expect(snap.value).toBe('failed');
      expect(snap.status).toBe('done');
      expect(snap.context.reason).toBe(reason);
      expect(snap.context.failedAt).toBe((event as { receivedAt: string }).receivedAt);
    });

    it('unknown-suite when we accept only x25519 and RSA alone is offered', () => {
      const onlyX = { ...input, acceptedSuites: ['x25519-aes256gcm'] } as const;
      const snap = run([offerReceived({ suites: ['rsaoaep-aes256gcm'] })], onlyX);
      expect([snap.value, snap.context.reason]).toEqual(['failed', 'unknown-suite']);
    });

    it('malformed when the chosen suite cannot be served (accept.failed)', () => {
      const snap = run([
        offerReceived(),
        { type: 'accept.failed', reason: 'malformed', at: iso(T0) },
      ]);
      expect([snap.value, snap.context.reason]).toEqual(['failed', 'malformed']);
    });

    it('bad-confirm', () => {
      const snap = run([
        offerReceived(),
        acceptSent,
        { type: 'confirm.received', macValid: false, at: iso(T0 + 2_000) },
      ]);
      expect([snap.value, snap.context.reason]).toEqual(['failed', 'bad-confirm']);
    });

    it('timeout: the delayed event while awaiting the confirm', () => {
      const [s0, actions] = transition(
        handshakeResponderMachine,
        run([offerReceived()]),
        acceptSent,
      );
      const scheduled = actions.find((a) => a.type === 'xstate.raise') as
        { params: { event: { type: string }; delay: number } } | undefined;
      expect(scheduled?.params.delay).toBe(10_000);
      const [snap] = transition(handshakeResponderMachine, s0, scheduled!.params.event as never);
      expect([snap.value, snap.context.reason]).toEqual(['failed', 'timeout']);
    });
  });

  describe('order of checks: the first failing one is the reason', () => {
    it.each<[string, Partial<OfferSummary>, Partial<OfferFacts>, number]>([
      [
        'wrong-peer',
        { to: 'c'.repeat(64), ts: 0 },
        { signatureValid: false, isReplayed: true },
        T0,
      ],
      ['stale', { ts: 0 }, { signatureValid: false }, T0],
      ['stale', { ts: 0 }, { isReplayed: true, identityMatches: false }, T0],
      ['replayed', {}, { isReplayed: true, signatureValid: false, pin: 'blocked' }, T0],
      ['identity-mismatch', {}, { identityMatches: false, signatureValid: false }, T0],
      ['bad-signature', { suites: ['x448-future'] }, { signatureValid: false, pin: 'blocked' }, T0],
      ['blocked', { suites: ['x448-future'] }, { pin: 'blocked' }, T0],
    ])('%s wins', (reason, over, facts, at) => {
      expect(run([offerReceived(over, facts, at)]).context.reason).toBe(reason);
    });
  });

  it('ignores events out of order and after a final state', () => {
    const early = run([acceptSent, { type: 'confirm.received', macValid: true, at: iso(T0) }]);
    expect(early.value).toBe('awaitingOffer');
    const failed = run([offerReceived({}, { isReplayed: true }), acceptSent]);
    expect(failed.value).toBe('failed');
    const established = run([
      offerReceived(),
      acceptSent,
      { type: 'confirm.received', macValid: true, at: iso(T0) },
      { type: 'confirm.received', macValid: false, at: iso(T0) },
    ]);
    expect(established.value).toBe('established');
  });

  it('keeps only public facts in context', () => {
    const snap = run([
      offerReceived(),
      acceptSent,
      { type: 'confirm.received', macValid: true, at: iso(T0) },
    ]);
    expect(Object.keys(snap.context).sort()).toEqual(
      [
        'acceptedAt',
        'acceptedSuites',
        'establishedAt',
        'failedAt',
        'freshnessMs',
        'keyId',
        'offeredSuites',
        'peerId',
        'peerKind',
        'pin',
        'reason',
        'receivedAt',
        'sas',
        'selfPeerId',
        'sid',
        'stream',
        'suite',
        'timeoutMs',
      ].sort(),
    );
  });
});
