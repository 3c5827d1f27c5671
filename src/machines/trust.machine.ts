/**
 * Trust pins: what this peer believes about each other peer's identity. A pin is created the
 * first time a handshake with a peer succeeds (trust on first use) as `unverified`; the user marks
 * it `verified` after an out-of-band check of the fingerprint or SAS, or `blocked`.
 *
 * Peer id = SHA-256 of the public key, so a key can never silently change under a pinned id: a
 * different key is a different peer id, and a peer we expected under one id that answers with
 * another is refused by the handshake (`key-changed`) and raised as a security event.
 *
 * Pure: times come inside events.
 */
import { assign, emit, setup } from 'xstate';

export const TRUST_MACHINE_VERSION = 1;

export type TrustState = 'unverified' | 'verified' | 'blocked';

export interface Pin {
  readonly peerId: string;
  readonly state: TrustState;
  readonly kind: 'ed25519' | 'rsa' | null;
  readonly name: string | null;
  readonly firstSeenAt: string;
  readonly changedAt: string;
}

export interface TrustInput {
  readonly stream: string;
  /** Pins loaded at start (from the data dir), so trust survives a restart on any store. */
  readonly pins: Readonly<Record<string, Pin>>;
}

export interface TrustContext {
  readonly stream: string;
  readonly pins: Readonly<Record<string, Pin>>;
}

export type TrustEvent =
  | { type: 'pin.seen'; peerId: string; kind: 'ed25519' | 'rsa'; name: string | null; at: string }
  | { type: 'pin.verify'; peerId: string; at: string }
  | { type: 'pin.unverify'; peerId: string; at: string }
  | { type: 'pin.block'; peerId: string; at: string };

export type TrustEmitted = { type: 'pins.changed'; pin: Pin };

function setState(
  ctx: TrustContext,
  peerId: string,
  state: TrustState,
  at: string,
): Record<string, Pin> {
  const prev = ctx.pins[peerId];
  const pin: Pin = prev
    ? { ...prev, state, changedAt: at }
    : { peerId, state, kind: null, name: null, firstSeenAt: at, changedAt: at };
  return { ...ctx.pins, [peerId]: pin };
}

export const trustMachine = setup({
  types: {
    input: {} as TrustInput,
    context: {} as TrustContext,
    events: {} as TrustEvent,
    emitted: {} as TrustEmitted,
  },
  guards: {
    isNewPeer: ({ context, event }) => context.pins[event.peerId] === undefined,
    isNotVerified: ({ context, event }) => context.pins[event.peerId]?.state !== 'verified',
    isNotUnverified: ({ context, event }) => {
      const p = context.pins[event.peerId];
      return p !== undefined && p.state !== 'unverified';
    },
    isNotBlocked: ({ context, event }) => context.pins[event.peerId]?.state !== 'blocked',
  },
  actions: {
    addPin: assign({
      pins: ({ context, event }) => {
        if (event.type !== 'pin.seen') return context.pins;
        const pin: Pin = {
          peerId: event.peerId,
          state: 'unverified',
          kind: event.kind,
          name: event.name,
          firstSeenAt: event.at,
          changedAt: event.at,
        };
        return { ...context.pins, [event.peerId]: pin };
      },
    }),
    markVerified: assign({
      pins: ({ context, event }) => setState(context, event.peerId, 'verified', event.at),
    }),
    markUnverified: assign({
      pins: ({ context, event }) => setState(context, event.peerId, 'unverified', event.at),
    }),
    markBlocked: assign({
      pins: ({ context, event }) => setState(context, event.peerId, 'blocked', event.at),
    }),
    announce: emit(({ context, event }) => ({
      type: 'pins.changed' as const,
      pin: context.pins[event.peerId] as Pin,
    })),
  },
}).createMachine({
  id: 'trust',
  context: ({ input }) => ({ stream: input.stream, pins: input.pins }),
  initial: 'ready',
  states: {
    ready: {
      on: {
        'pin.seen': { guard: 'isNewPeer', actions: ['addPin', 'announce'] },
        'pin.verify': { guard: 'isNotVerified', actions: ['markVerified', 'announce'] },
        'pin.unverify': { guard: 'isNotUnverified', actions: ['markUnverified', 'announce'] },
        'pin.block': { guard: 'isNotBlocked', actions: ['markBlocked', 'announce'] },
      },
    },
  },
});
