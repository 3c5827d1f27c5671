/**
 * A pin changed to `blocked` while a handshake is in flight (after the offer/accept was checked,
 * before the confirm/done) stops it: both drivers read the pin again right before the session is
 * handed out, and the machines fail with `blocked`.
 */
import { describe, expect, it } from 'vitest';
import { createReplayCache } from '../../../src/actors/handshake/replay-cache.js';
import { createHandshakeResponder } from '../../../src/actors/handshake/responder.js';
import { initiateHandshake } from '../../../src/actors/handshake/requester.js';
import type { EstablishedSession } from '../../../src/actors/handshake/types.js';
import { fixedIdentity } from '../../crypto/handshake.fixtures.js';
import { pinsOf, random, recording, wire } from './support.js';

const alice = fixedIdentity(0x11);
const bob = fixedIdentity(0x22);

describe('block during a handshake', () => {
  it('responder: a peer blocked between offer and confirm gets no session', async () => {
    const rec = recording();
    const bobPins = pinsOf({ [alice.fingerprint]: 'unverified' });
    const established: EstablishedSession[] = [];
    const responder = createHandshakeResponder({
      identity: bob,
      acceptedSuites: ['x25519-aes256gcm'],
      replayCache: createReplayCache({ freshnessMs: 60_000 }),
      pins: bobPins,
      now: () => new Date(),
      random,
      spawnActor: rec.spawnActor,
      onEstablished: (s) => established.push(s),
    });
    const r = await initiateHandshake(
      {
        identity: alice,
        post: wire(responder, {
          request: (path, body) => {
            // bob's user runs `conclave block alice` while the handshake is in flight
            if (path.endsWith('/confirm')) bobPins.set(alice.fingerprint, 'blocked');
            return body;
          },
        }),
        pins: pinsOf(),
        now: () => new Date(),
        random,
        spawnActor: rec.spawnActor,
      },
      { url: 'http://bob', expectedPeerId: bob.fingerprint, suites: ['x25519-aes256gcm'] },
    );
    expect(established).toEqual([]);
    expect(r).toMatchObject({ ok: false, reason: 'rejected', detail: 'blocked' });
    expect(responder.pendingCount).toBe(0);
  });

  it('requester: a peer blocked between accept and done gets no session', async () => {
    const rec = recording();
    const alicePins = pinsOf({ [bob.fingerprint]: 'unverified' });
    const responder = createHandshakeResponder({
      identity: bob,
      acceptedSuites: ['x25519-aes256gcm'],
      replayCache: createReplayCache({ freshnessMs: 60_000 }),
      pins: pinsOf(),
      now: () => new Date(),
      random,
      spawnActor: rec.spawnActor,
    });
    const r = await initiateHandshake(
      {
        identity: alice,
        post: wire(responder, {
          request: (path, body) => {
            if (path.endsWith('/confirm')) alicePins.set(bob.fingerprint, 'blocked');
            return body;
          },
        }),
        pins: alicePins,
        now: () => new Date(),
        random,
        spawnActor: rec.spawnActor,
      },
      { url: 'http://bob', expectedPeerId: bob.fingerprint, suites: ['x25519-aes256gcm'] },
    );
    expect(r).toMatchObject({ ok: false, reason: 'blocked' });
  });
});
