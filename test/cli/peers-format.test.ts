/**
 * `conclave peers` prints names and addresses that other peers put in their beacons: terminal
 * control sequences in them must not reach the terminal (a signed beacon may carry any text).
 */
import { describe, expect, it } from 'vitest';
import type { PeerView } from '../../src/actors/peer-directory.js';
import { formatPeers } from '../../src/cli/commands/peers.js';

const peer = (over: Partial<PeerView>): PeerView => ({
  peerId: 'a'.repeat(64),
  name: 'alice',
  fingerprint: 'a'.repeat(64),
  kind: 'ed25519',
  addresses: ['http://10.0.0.2:7400'],
  via: 'multicast',
  rooms: [],
  trust: null,
  lastSeen: null,
  session: null,
  ...over,
});

describe('formatPeers', () => {
  it('strips control sequences from beacon names and addresses', () => {
    const out = formatPeers([
      peer({
        name: '\x1b]0;pwned\x07\x1b[2J\x1b[31mEVIL',
        addresses: ['http://10.0.0.2:7400\x1b[1A\r\x1b[2K'],
      }),
    ]);
    // eslint-disable-next-line no-control-regex -- asserting no control characters remain
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(out).toContain('EVIL');
    expect(out).toContain('http://10.0.0.2:7400');
  });
});
