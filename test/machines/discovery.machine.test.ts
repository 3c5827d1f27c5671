import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { discoveryMachine, type DiscoveryEvent } from '../../src/machines/discovery.machine.js';

const SELF = 's'.repeat(64);
const seen = (
  peerId: string,
  over: Partial<Extract<DiscoveryEvent, { type: 'peer.seen' }>> = {},
): DiscoveryEvent => ({
  type: 'peer.seen',
  peerId,
  name: 'bob',
  kind: 'ed25519',
  urls: ['http://10.0.0.2:7400'],
  rooms: [],
  via: 'multicast',
  at: 't1',
  ...over,
});
const start = (maxPeers = 3) =>
  initialTransition(discoveryMachine, { stream: 'discovery', selfPeerId: SELF, maxPeers })[0];

describe('discovery machine', () => {
  it('adds a new peer with its first-seen time', () => {
    const [s] = transition(discoveryMachine, start(), seen('b'));
    expect(s.context.peers.b).toEqual({
      peerId: 'b',
      name: 'bob',
      kind: 'ed25519',
      urls: ['http://10.0.0.2:7400'],
      rooms: [],
      via: 'multicast',
      firstSeenAt: 't1',
    });
  });

  it('accepts a beacon that changes nothing as no transition', () => {
    const [s1] = transition(discoveryMachine, start(), seen('b'));
    const [s2] = transition(discoveryMachine, s1, seen('b', { at: 't2' }));
    expect(s2.context).toBe(s1.context);
  });

  it('updates a peer whose advertised facts changed, keeping its first-seen time', () => {
    const [s1] = transition(discoveryMachine, start(), seen('b'));
    const [s2] = transition(discoveryMachine, s1, seen('b', { name: 'bobby', at: 't2' }));
    expect(s2.context.peers.b).toMatchObject({ name: 'bobby', firstSeenAt: 't1' });
  });

  it('removes an expired peer and ignores expiry of unknown ones', () => {
    const [s1] = transition(discoveryMachine, start(), seen('b'));
    const [s2] = transition(discoveryMachine, s1, { type: 'peer.expired', peerId: 'b', at: 't9' });
    expect(s2.context.peers).toEqual({});
    const [s3] = transition(discoveryMachine, s2, { type: 'peer.expired', peerId: 'zz', at: 't9' });
    expect(s3.context).toBe(s2.context);
  });

  it('never adds itself and never grows past maxPeers', () => {
    let [s] = transition(discoveryMachine, start(2), seen(SELF));
    expect(s.context.peers).toEqual({});
    for (const id of ['a', 'b', 'c', 'd']) [s] = transition(discoveryMachine, s, seen(id));
    expect(Object.keys(s.context.peers)).toEqual(['a', 'b']);
  });
});
