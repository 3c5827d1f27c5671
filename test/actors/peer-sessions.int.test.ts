/**
 * Two PeerSessions in one process over real HTTP on loopback, without the WebSocket link (its
 * server is not attached), so every push must travel by sealed request and polling.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import type { PeerSessions } from '../../src/actors/peer-sessions.types.js';
import type { SpawnActor } from '../../src/actors/handshake/types.js';
import { generateIdentity } from '../../src/crypto/index.js';
import { serveSessions } from '../support/session-api.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const spawnActor: SpawnActor = (machine, input) => createActor(machine, { input }).start() as never;

async function node(name: string, session?: { idleTimeoutMs: number }) {
  const identity = await generateIdentity('ed25519');
  const established: string[] = [];
  const alerts: Array<{ kind: string; peerId: string | null }> = [];
  const sessions: PeerSessions = createPeerSessions(
    { identity, ...(session ? { session } : {}) },
    {
      spawnActor,
      pinState: () => 'none',
      onEstablished: (s) => established.push(s.sid),
      onSecurityAlert: (kind, peerId) => alerts.push({ kind, peerId }),
    },
  );
  const api = await serveSessions(name, identity, sessions);
  cleanups.push(
    () => api.close(),
    () => sessions.close(),
  );
  return { identity, sessions, api, established, alerts };
}

describe('sessions without the WebSocket link', () => {
  it('falls back to sealed requests and polling for push frames in both directions', async () => {
    const a = await node('a');
    const b = await node('b');
    const c = await a.sessions.connect({ url: b.api.url, expectedPeerId: b.identity.fingerprint });
    expect(c).toMatchObject({ peerId: b.identity.fingerprint, link: 'down' });
    expect(b.established).toEqual([c.sessionId]);

    // requester → responder push (as a sealed request), pong back through a poll
    const fromA = await a.sessions.ping(b.identity.fingerprint, 'push');
    expect(fromA).toMatchObject({ via: 'push', sessionId: c.sessionId });

    // responder → requester push: queued until the requester's poll picks it up
    const fromB = await b.sessions.ping(a.identity.fingerprint, 'push');
    expect(fromB).toMatchObject({ via: 'push', sessionId: c.sessionId });
    expect(fromB.rttMs).toBeGreaterThan(0);
  }, 30_000);

  it('handshakes again, where it reached the peer, when a session has lapsed', async () => {
    const a = await node('a', { idleTimeoutMs: 150 });
    const b = await node('b', { idleTimeoutMs: 150 });
    const first = await a.sessions.connect({
      url: b.api.url,
      expectedPeerId: b.identity.fingerprint,
    });
    await new Promise((r) => setTimeout(r, 400));
    const ping = await a.sessions.ping(b.identity.fingerprint, 'request');
    expect(ping.sessionId).not.toBe(first.sessionId);
    expect(b.established).toEqual([first.sessionId, ping.sessionId]);
  }, 30_000);

  it('refuses a peer that answers under another identity than expected, and raises a security alert', async () => {
    const a = await node('a');
    const b = await node('b');
    const c = await node('c');
    // a believes b lives at c's address: c answers with its own key
    await expect(
      a.sessions.connect({ url: c.api.url, expectedPeerId: b.identity.fingerprint }),
    ).rejects.toMatchObject({
      code: 'ERR_HANDSHAKE_FAILED',
      details: { reason: 'key-changed' },
    });
    expect(a.alerts).toContainEqual(
      expect.objectContaining({ kind: 'key-changed', peerId: b.identity.fingerprint }),
    );
    expect(c.established).toEqual([]);
  }, 30_000);
});
