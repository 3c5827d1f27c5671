/**
 * The sid-reuse refusal covers retired sessions too, for as long as the other side may still send
 * on one (its idle expiry): once the responder retired a session (block then unblock, its own idle
 * expiry, …), a third peer that saw the sid in clear used to open its own session under it, and
 * the real requester's requests then failed to open there (not as `unknown-session`), so it never
 * handshook again.
 */
import { afterEach, expect, it } from 'vitest';
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
  const sessions = createPeerSessions(
    { identity, links: false },
    {
      spawnActor,
      pinState: () => 'none',
      onEstablished: () => undefined,
      onSecurityAlert: () => undefined,
    },
  );
  const api = await serveSessions(name, identity, sessions);
  cleanups.push(
    () => api.close(),
    () => sessions.close(),
  );
  return { identity, sessions, api };
}

function handshakeUnder(identity: Identity, sid: string, url: string, expectedPeerId: string) {
  let first = true;
  return initiateHandshake(
    {
      identity,
      post: (u, path, body) => peerRequest(u, 'POST', path, body, { timeoutMs: 5_000 }),
      pins: { get: () => 'none' },
      now: () => new Date(),
      random: (n) => {
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

it('a retired sid cannot be taken by another peer while its holder may still use it', async () => {
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
