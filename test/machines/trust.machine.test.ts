import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { trustMachine, type Pin } from '../../src/machines/trust.machine.js';

const A = 'a'.repeat(64);
const start = (pins: Record<string, Pin> = {}) =>
  initialTransition(trustMachine, { stream: 'trust', pins })[0];

describe('trust machine', () => {
  it('pins a peer as unverified the first time it is seen, and only the first time', () => {
    const [s1, a1] = transition(trustMachine, start(), {
      type: 'pin.seen',
      peerId: A,
      kind: 'ed25519',
      name: 'bob',
      at: 't1',
    });
    expect(s1.context.pins[A]).toEqual({
      peerId: A,
      state: 'unverified',
      kind: 'ed25519',
      name: 'bob',
      firstSeenAt: 't1',
      changedAt: 't1',
    });
    expect(a1.map((a) => a.type)).toContain('xstate.emit');
    const [s2, a2] = transition(trustMachine, s1, {
      type: 'pin.seen',
      peerId: A,
      kind: 'ed25519',
      name: 'renamed',
      at: 't2',
    });
    expect(s2.context.pins[A]?.name).toBe('bob');
    expect(a2).toEqual([]);
  });

  it('verifies, blocks and unverifies, stamping the change time', () => {
    let [s] = transition(trustMachine, start(), {
      type: 'pin.seen',
      peerId: A,
      kind: 'rsa',
      name: null,
      at: 't1',
    });
    [s] = transition(trustMachine, s, { type: 'pin.verify', peerId: A, at: 't2' });
    expect(s.context.pins[A]).toMatchObject({
      state: 'verified',
      changedAt: 't2',
      firstSeenAt: 't1',
    });
    [s] = transition(trustMachine, s, { type: 'pin.block', peerId: A, at: 't3' });
    expect(s.context.pins[A]?.state).toBe('blocked');
    [s] = transition(trustMachine, s, { type: 'pin.unverify', peerId: A, at: 't4' });
    expect(s.context.pins[A]?.state).toBe('unverified');
  });

  it('lets a user verify or block a peer before any contact (pre-pinning)', () => {
    const [s] = transition(trustMachine, start(), { type: 'pin.block', peerId: A, at: 't' });
    expect(s.context.pins[A]).toMatchObject({ state: 'blocked', kind: null });
  });

  it('does not accept no-op changes (so nothing is recorded)', () => {
    const [s1] = transition(trustMachine, start(), { type: 'pin.verify', peerId: A, at: 't1' });
    const [s2, actions] = transition(trustMachine, s1, { type: 'pin.verify', peerId: A, at: 't2' });
    expect(s2.context).toBe(s1.context);
    expect(actions).toEqual([]);
    const [s3, a3] = transition(trustMachine, start(), {
      type: 'pin.unverify',
      peerId: A,
      at: 't',
    });
    expect(s3.context.pins).toEqual({});
    expect(a3).toEqual([]);
  });

  it('starts from the pins it is given', () => {
    const pin: Pin = {
      peerId: A,
      state: 'verified',
      kind: 'ed25519',
      name: 'x',
      firstSeenAt: 't',
      changedAt: 't',
    };
    expect(start({ [A]: pin }).context.pins[A]).toEqual(pin);
  });
});
