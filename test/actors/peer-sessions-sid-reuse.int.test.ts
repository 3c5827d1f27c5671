/**
 * A session id names one session across all peers: it travels in clear in every
 * `/p2p/v1/session/:sid` URL, so a third peer that saw one must not be able to open its own
 * session under it and take the place of the session it names (either role, or mid-handshake),
 * nor of one we retired while the other side may still send on it (its idle expiry): its requests
 * would fail to open there, not as `unknown-session`, and it would never handshake again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { initiateHandshake } from '../../src/actors/handshake/requester.js';
import type { SpawnActor } from '../../src/actors/handshake/types.js';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import { fromBase64Url } from '../../src/crypto/bytes.js';
import { generateIdentity, pooledRandomBytes, type Identity } from '../../src/crypto/index.js';
import { peerRequest } from '../../src/transport/http/peer-client.js';
import { serveSessions } from '../support/session-api.js';

const spawnActor: SpawnActor = (machine, input) => createActor(machine, { input }).start() as never;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function node(name: string) {
  const identity = await generateIdentity('ed25519');
  const established: Array<{ sid: string; peerId: string; role: string }> = [];
  const sessions = createPeerSessions(
    { identity, links: false },
    {
      spawnActor,
      pinState: () => 'none',
      onEstablished: (s) => established.push({ sid: s.sid, peerId: s.peerId, role: s.role }),
      onSecurityAlert: () => undefined,
    },
  );
  const api = await serveSessions(name, identity, sessions);
  cleanups.push(
    () => api.close(),
    () => sessions.close(),
  );
  return { identity, sessions, api, established };
}

/** A handshake by `identity` to `url` whose offer carries `sid` (copied off the wire). */
function handshakeUnder(identity: Identity, sid: string, url: string, expectedPeerId: string) {
  let first = true;
  return initiateHandshake(
    {
      identity,
      post: (u, path, body) => peerRequest(u, 'POST', path, body, { timeoutMs: 5_000 }),
      pins: { get: () => 'none' },
      now: () => new Date(),
      random: (n) => {
        // The driver draws the sid first (16 bytes).
        if (first && n === 16) {
          first = false;
          return Buffer.from(fromBase64Url(sid));
        }
        return pooledRandomBytes(n);
      },
      spawnActor,
    },
    { url, expectedPeerId, suites: ['x25519-aes256gcm'] },
  );
}

describe('a session id reused by another peer', () => {
  it('is refused (replayed) where it names our requester session, which stays intact', async () => {
    const a = await node('alice');
    const b = await node('bob');
    const c = await a.sessions.connect({ url: b.api.url, expectedPeerId: b.identity.fingerprint });

    const mallory = await generateIdentity('ed25519');
    const r = await handshakeUnder(mallory, c.sessionId, a.api.url, a.identity.fingerprint);
    expect(r).toMatchObject({ ok: false, reason: 'rejected', detail: 'replayed' });
    expect(a.established.map((e) => e.peerId)).toEqual([b.identity.fingerprint]);
    expect(a.sessions.sessionView(b.identity.fingerprint)).toMatchObject({
      sessionId: c.sessionId,
      role: 'requester',
      sas: c.sas,
    });
    expect(await a.sessions.ping(b.identity.fingerprint, 'request')).toMatchObject({
      sessionId: c.sessionId,
    });
  }, 40_000);

  it('is refused where it names a session the peer opened to us (our responder side)', async () => {
    const a = await node('alice');
    const b = await node('bob');
    const c = await a.sessions.connect({ url: b.api.url, expectedPeerId: b.identity.fingerprint });

    const mallory = await generateIdentity('ed25519');
    const r = await handshakeUnder(mallory, c.sessionId, b.api.url, b.identity.fingerprint);
    expect(r).toMatchObject({ ok: false, reason: 'rejected', detail: 'replayed' });
    expect(b.established.map((e) => e.peerId)).toEqual([a.identity.fingerprint]);
    expect(b.sessions.sessionView(a.identity.fingerprint)).toMatchObject({
      sessionId: c.sessionId,
      role: 'responder',
      sas: c.sas,
    });
    expect(b.sessions.stats().handshakes).toContainEqual({
      role: 'responder',
      result: 'replayed',
      count: 1,
    });
  }, 40_000);

  it('is refused where it names a session we retired, while its holder may still use it', async () => {
    const a = await node('alice');
    const b = await node('bob');
    const c = await a.sessions.connect({ url: b.api.url, expectedPeerId: b.identity.fingerprint });
    // Bob's side forgets the session (here: closePeer, as block does; expiry or restart do the same).
    expect(b.sessions.closePeer(a.identity.fingerprint, 'test')).toBe(1);

    const mallory = await generateIdentity('ed25519');
    const r = await handshakeUnder(mallory, c.sessionId, b.api.url, b.identity.fingerprint);
    // Honest behaviour: alice's next request finds "unknown session", re-handshakes, and works.
    const ping = a.sessions
      .request(b.identity.fingerprint, { method: 'POST', path: '/ping', body: {} })
      .then(
        (x) => ({ ok: true as const, x }),
        (e: unknown) => ({ ok: false as const, e: String(e) }),
      );
    const res = await ping;
    expect(r.ok).toBe(false);
    expect(res.ok).toBe(true);
  }, 40_000);
});
