/**
 * The discovery actor: the set of peers this peer currently knows on the LAN, and how it learned
 * of each (multicast beacon, mDNS, static address). Only changes are events: a peer appearing,
 * changing its advertised facts, or expiring — a refresh that changes nothing is not accepted, so
 * it is not recorded. Freshness and expiry timing live in the runtime, which sends `peer.expired`.
 *
 * Pure: times come inside events.
 */
import { assign, setup } from 'xstate';

export const DISCOVERY_MACHINE_VERSION = 1;

export type DiscoveryVia = 'multicast' | 'mdns' | 'static';

export interface AdvertisedRoomInfo {
  readonly roomId: string;
  readonly name: string;
  readonly policy: 'open' | 'password' | 'invite' | 'approval';
}

export interface KnownPeer {
  readonly peerId: string;
  readonly name: string;
  readonly kind: 'ed25519' | 'rsa';
  /** Peer API base URLs, best first. */
  readonly urls: readonly string[];
  readonly rooms: readonly AdvertisedRoomInfo[];
  readonly via: DiscoveryVia;
  readonly firstSeenAt: string;
}

export interface DiscoveryInput {
  readonly stream: string;
  readonly selfPeerId: string;
  readonly maxPeers: number;
}

export interface DiscoveryContext extends DiscoveryInput {
  readonly peers: Readonly<Record<string, KnownPeer>>;
}

export type DiscoveryEvent =
  | {
      type: 'peer.seen';
      peerId: string;
      name: string;
      kind: 'ed25519' | 'rsa';
      urls: readonly string[];
      rooms: readonly AdvertisedRoomInfo[];
      via: DiscoveryVia;
      at: string;
    }
  | { type: 'peer.expired'; peerId: string; at: string };

type Seen = Extract<DiscoveryEvent, { type: 'peer.seen' }>;

function sameFacts(a: KnownPeer, e: Seen): boolean {
  return (
    a.name === e.name &&
    a.kind === e.kind &&
    JSON.stringify(a.urls) === JSON.stringify(e.urls) &&
    JSON.stringify(a.rooms) === JSON.stringify(e.rooms)
  );
}

export const discoveryMachine = setup({
  types: {
    input: {} as DiscoveryInput,
    context: {} as DiscoveryContext,
    events: {} as DiscoveryEvent,
  },
  guards: {
    isNewPeerWithRoom: ({ context, event }) =>
      event.type === 'peer.seen' &&
      event.peerId !== context.selfPeerId &&
      context.peers[event.peerId] === undefined &&
      Object.keys(context.peers).length < context.maxPeers,
    isChangedPeer: ({ context, event }) => {
      if (event.type !== 'peer.seen') return false;
      const known = context.peers[event.peerId];
      return known !== undefined && !sameFacts(known, event);
    },
    isKnownPeer: ({ context, event }) =>
      event.type === 'peer.expired' && context.peers[event.peerId] !== undefined,
  },
  actions: {
    addPeer: assign({
      peers: ({ context, event }) => {
        if (event.type !== 'peer.seen') return context.peers;
        const { type: _t, at, ...facts } = event;
        return { ...context.peers, [event.peerId]: { ...facts, firstSeenAt: at } };
      },
    }),
    updatePeer: assign({
      peers: ({ context, event }) => {
        if (event.type !== 'peer.seen') return context.peers;
        const known = context.peers[event.peerId];
        if (!known) return context.peers;
        const { type: _t, at: _at, ...facts } = event;
        return { ...context.peers, [event.peerId]: { ...known, ...facts } };
      },
    }),
    removePeer: assign({
      peers: ({ context, event }) => {
        if (event.type !== 'peer.expired') return context.peers;
        const { [event.peerId]: _gone, ...rest } = context.peers;
        return rest;
      },
    }),
  },
}).createMachine({
  id: 'discovery',
  context: ({ input }) => ({ ...input, peers: {} }),
  initial: 'listening',
  states: {
    listening: {
      on: {
        'peer.seen': [
          { guard: 'isNewPeerWithRoom', actions: 'addPeer' },
          { guard: 'isChangedPeer', actions: 'updatePeer' },
        ],
        'peer.expired': { guard: 'isKnownPeer', actions: 'removePeer' },
      },
    },
  },
});
