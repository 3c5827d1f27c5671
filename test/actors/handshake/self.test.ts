/**
 * A handshake with ourselves (connecting to our own address) is refused on both sides: the
 * responder refuses an offer from its own peer id, the requester an accept from its own peer id
 * (a mirror that answers for us), both as `wrong-peer`. No session, nothing handed out.
 */
import { describe, expect, it } from 'vitest';
import { createReplayCache } from '../../../src/actors/handshake/replay-cache.js';
import { initiateHandshake } from '../../../src/actors/handshake/requester.js';
import { createHandshakeResponder } from '../../../src/actors/handshake/responder.js';
import type { EstablishedSession } from '../../../src/actors/handshake/types.js';
import { fixedIdentity } from '../../crypto/handshake.fixtures.js';
import { acceptAs } from '../../support/impostor.js';
import { pinsOf, random, recording, wire } from './support.js';

const alice = fixedIdentity(0x11);

describe('a handshake with ourselves', () => {
  it('responder: refuses an offer from its own peer id', async () => {
    const rec = recording();
    const established: EstablishedSession[] = [];
    const responder = createHandshakeResponder({
      identity: alice,
      acceptedSuites: ['x25519-aes256gcm'],
      replayCache: createReplayCache({ freshnessMs: 60_000 }),
      pins: pinsOf(),
      now: () => new Date(),
      random,
      spawnActor: rec.spawnActor,
      onEstablished: (s) => established.push(s),
      // our own offer in flight holds this sid: still refused as ours, not as a replay
      isSidTaken: () => true,
    });
    const r = await initiateHandshake(
      {
        identity: alice,
        post: wire(responder),
        pins: pinsOf(),
        now: () => new Date(),
        random,
        spawnActor: rec.spawnActor,
      },
      { url: 'http://me', expectedPeerId: null, suites: ['x25519-aes256gcm'] },
    );
    expect(r).toMatchObject({ ok: false, reason: 'rejected', detail: 'wrong-peer' });
    expect(established).toEqual([]);
    expect(responder.pendingCount).toBe(0);
  });

  it('requester: refuses an accept signed with its own identity', async () => {
    const rec = recording();
    const r = await initiateHandshake(
      {
        identity: alice,
        // a mirror: answers any offer with a valid accept signed by the requester's own key
        post: (_url, _path, body) => {
          const accept = acceptAs(alice, body);
          return Promise.resolve(
            accept === undefined ? { status: 400, body: {} } : { status: 200, body: accept },
          );
        },
        pins: pinsOf(),
        now: () => new Date(),
        random,
        spawnActor: rec.spawnActor,
      },
      { url: 'http://me', expectedPeerId: null, suites: ['x25519-aes256gcm'] },
    );
    expect(r).toMatchObject({ ok: false, reason: 'wrong-peer' });
  });
});
