import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import {
  handshakeRequesterMachine,
  type HandshakeRequesterEvent,
  type HandshakeRequesterInput,
} from '../../src/machines/handshake-requester.machine.js';
import {
  HANDSHAKE_FAILURE_REASONS,
  type AcceptFacts,
  type AcceptSummary,
} from '../../src/machines/handshake.types.js';

const SELF = 'a'.repeat(64);
const PEER = 'b'.repeat(64);
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();

const input: HandshakeRequesterInput = {
  stream: `session:${PEER}:sid1`,
  sid: 'sid1',
  selfPeerId: SELF,
  expectedPeerId: PEER,
  url: 'http://10.0.0.2:7400',
  offeredSuites: ['x25519-aes256gcm', 'rsaoaep-aes256gcm'],
  freshnessMs: 60_000,
  timeoutMs: 10_000,
};

const offerSent: HandshakeRequesterEvent = {
  type: 'offer.sent',
  nonce: 'n'.repeat(43),
  ts: T0,
  at: iso(T0),
};

const goodFacts: AcceptFacts = {
  identityMatches: true,
  signatureValid: true,
  authOpened: true,
  pin: 'unverified',
};

function acceptReceived(
  over: Partial<AcceptSummary> = {},
  facts: Partial<AcceptFacts> = {},
  receivedAt = T0 + 500,
): HandshakeRequesterEvent {
  return {
    type: 'accept.received',
    accept: {
      sid: 'sid1',
      from: PEER,
      kind: 'ed25519',
      suite: 'x25519-aes256gcm',
      nonce: 'm'.repeat(43),
      ts: T0 + 400,
      ...over,
    },
    receivedAt: iso(receivedAt),
    facts: { ...goodFacts, ...facts },
    transcript: { keyId: '0123456789abcdef', sas: '11111 22222 33333 44444' },
  };
}

const onlyX25519: HandshakeRequesterInput = { ...input, offeredSuites: ['x25519-aes256gcm'] };

const doneOk: HandshakeRequesterEvent = {
  type: 'done.received',
  macValid: true,
  at: iso(T0 + 600),
};

function run(events: readonly HandshakeRequesterEvent[], given = input) {
  let [snap] = initialTransition(handshakeRequesterMachine, given);
  for (const e of events) [snap] = transition(handshakeRequesterMachine, snap, e);
  return snap;
}

/** Fire the delayed timeout scheduled by the last transition of `events`. */
function runThenTimeout(events: readonly HandshakeRequesterEvent[]) {
  let [snap, actions] = initialTransition(handshakeRequesterMachine, input);
  for (const e of events) [snap, actions] = transition(handshakeRequesterMachine, snap, e);
  const scheduled = actions.find((a) => a.type === 'xstate.raise') as
    { params: { event: { type: string } } } | undefined;
  expect(scheduled).toBeDefined();
  return transition(handshakeRequesterMachine, snap, scheduled!.params.event as never)[0];
}

describe('handshake-requester machine', () => {
  it('establishes in ECDH mode: offering → awaitingAccept → confirming → established', () => {
    expect(run([]).value).toBe('offering');
    expect(run([offerSent]).value).toBe('awaitingAccept');
    expect(run([offerSent, acceptReceived()]).value).toBe('confirming');
    const done = run([offerSent, acceptReceived(), doneOk]);
    expect(done.value).toBe('established');
    expect(done.context).toMatchObject({
      peerId: PEER,
      peerKind: 'ed25519',
      suite: 'x25519-aes256gcm',
      keyId: '0123456789abcdef',
      sas: '11111 22222 33333 44444',
      offerSentAt: iso(T0),
      establishedAt: iso(T0 + 600),
      reason: null,
    });
  });

  it('establishes in RSA mode', () => {
    const done = run([offerSent, acceptReceived({ suite: 'rsaoaep-aes256gcm' }), doneOk]);
    expect([done.value, done.context.suite]).toEqual(['established', 'rsaoaep-aes256gcm']);
  });

  it('takes whoever answers when connecting by URL (expectedPeerId null)', () => {
    const byUrl = { ...input, expectedPeerId: null, stream: 'session:unknown:sid1' };
    const snap = run([offerSent, acceptReceived({ from: 'c'.repeat(64) })], byUrl);
    expect([snap.value, snap.context.peerId]).toEqual(['confirming', 'c'.repeat(64)]);
  });

  describe('one failure per reason (protocol §2.4 and transport)', () => {
    it.each<[string, HandshakeRequesterEvent[], HandshakeRequesterInput?]>([
      ['key-changed', [offerSent, acceptReceived({ from: 'c'.repeat(64) })]],
      ['identity-mismatch', [offerSent, acceptReceived({}, { identityMatches: false })]],
      ['downgraded', [offerSent, acceptReceived({ suite: 'rsaoaep-aes256gcm' })], onlyX25519],
      ['stale', [offerSent, acceptReceived({ ts: T0 - 60_001 }, {}, T0 + 1)]],
      ['bad-signature', [offerSent, acceptReceived({}, { signatureValid: false })]],
      ['blocked', [offerSent, acceptReceived({}, { pin: 'blocked' })]],
      ['decrypt-failed', [offerSent, acceptReceived({}, { authOpened: false })]],
      [
        'malformed',
        [offerSent, { type: 'response.malformed', message: 'hs.accept', detail: 'x', at: iso(T0) }],
      ],
      [
        'malformed',
        [
          offerSent,
          acceptReceived(),
          { type: 'response.malformed', message: 'hs.done', detail: 'sid', at: iso(T0) },
        ],
      ],
      ['bad-confirm', [offerSent, acceptReceived(), { ...doneOk, macValid: false }]],
      [
        'unreachable',
        [offerSent, { type: 'transport.failed', reason: 'unreachable', at: iso(T0) }],
      ],
      ['timeout', [offerSent, { type: 'transport.failed', reason: 'timeout', at: iso(T0) }]],
      [
        'rejected',
        [
          offerSent,
          acceptReceived(),
          {
            type: 'transport.failed',
            reason: 'rejected',
            status: 422,
            code: 'ERR_HANDSHAKE_FAILED',
            detail: 'bad-confirm',
            at: iso(T0),
          },
        ],
      ],
    ])('%s', (reason, events, given = input) => {
      const snap = run(events, given);
      expect(snap.value).toBe('failed');
      expect(snap.status).toBe('done');
      expect(snap.context.reason).toBe(reason);
    });

    it('keeps the responder problem code of a rejection', () => {
      const snap = run([
        offerSent,
        {
          type: 'transport.failed',
          reason: 'rejected',
          status: 422,
          code: 'ERR_HANDSHAKE_FAILED',
          detail: 'replayed',
          at: iso(T0 + 5),
        },
      ]);
      expect(snap.context).toMatchObject({
        reason: 'rejected',
        rejection: { status: 422, code: 'ERR_HANDSHAKE_FAILED' },
        detail: 'replayed',
        failedAt: iso(T0 + 5),
      });
    });

    it('timeout while awaiting the accept and while confirming (delayed events)', () => {
      expect(runThenTimeout([offerSent]).context.reason).toBe('timeout');
      expect(runThenTimeout([offerSent, acceptReceived()]).context.reason).toBe('timeout');
    });

    it('emits a security alert with key-changed', () => {
      let [snap] = initialTransition(handshakeRequesterMachine, input);
      [snap] = transition(handshakeRequesterMachine, snap, offerSent);
      const [, actions] = transition(
        handshakeRequesterMachine,
        snap,
        acceptReceived({ from: 'c'.repeat(64) }),
      );
      const emitted = actions.find((a) => (a.type as string) === 'xstate.emit') as
        { params: { event: unknown } } | undefined;
      expect(emitted?.params.event).toMatchObject({
        type: 'security.alert',
        kind: 'key-changed',
        expectedPeerId: PEER,
        peerId: 'c'.repeat(64),
      });
    });
  });

  describe('order of checks: the first failing one is the reason', () => {
    it.each<[string, Partial<AcceptSummary>, Partial<AcceptFacts>, number]>([
      [
        'key-changed',
        { from: 'c'.repeat(64), suite: 'rsaoaep-aes256gcm' },
        { identityMatches: false },
        T0,
      ],
      ['identity-mismatch', { suite: 'rsaoaep-aes256gcm', ts: 0 }, { identityMatches: false }, T0],
      ['downgraded', { suite: 'rsaoaep-aes256gcm', ts: 0 }, { signatureValid: false }, T0],
      ['stale', { ts: 0 }, { signatureValid: false, pin: 'blocked' }, T0],
      ['bad-signature', {}, { signatureValid: false, pin: 'blocked', authOpened: false }, T0],
      ['blocked', {}, { pin: 'blocked', authOpened: false }, T0],
    ])('%s wins', (reason, over, facts, at) => {
      expect(run([offerSent, acceptReceived(over, facts, at)], onlyX25519).context.reason).toBe(
        reason,
      );
    });
  });

  it('covers every failure reason between the two machines', () => {
    // Responder-only reasons are tested in handshake-responder.machine.test.ts.
    const responderOnly = ['wrong-peer', 'replayed', 'unknown-suite'];
    const here = [
      'key-changed',
      'identity-mismatch',
      'downgraded',
      'stale',
      'bad-signature',
      'blocked',
      'decrypt-failed',
      'malformed',
      'bad-confirm',
      'unreachable',
      'timeout',
      'rejected',
    ];
    expect([...responderOnly, ...here].sort()).toEqual([...HANDSHAKE_FAILURE_REASONS].sort());
  });
});
