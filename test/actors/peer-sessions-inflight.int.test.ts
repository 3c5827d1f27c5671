/**
 * A sealed request whose application handler is still running when the requester handshakes
 * again: the responder's session is superseded and can no longer seal the answer. The request was
 * acted on, so the responder must not answer "unknown session" (which the requester takes as
 * "never arrived" and sends again on the new session): it answers an error the requester reports
 * to its caller instead. Real PeerSessions over real HTTP and links.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import type { SpawnActor } from '../../src/actors/handshake/types.js';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import type { PeerSessions } from '../../src/actors/peer-sessions.types.js';
import { generateIdentity } from '../../src/crypto/index.js';
import type { InnerRequest, InnerResponse } from '../../src/protocol/sealed.codec.js';
import { serveSessions } from '../support/session-api.js';
import { until } from './session/delivery-pair.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const spawnActor: SpawnActor = (machine, input) => createActor(machine, { input }).start() as never;

async function node(name: string, request?: (inner: InnerRequest) => Promise<InnerResponse>) {
  const identity = await generateIdentity('ed25519');
  const sessions: PeerSessions = createPeerSessions(
    { identity },
    {
      spawnActor,
      pinState: () => 'none',
      onEstablished: () => undefined,
      onSecurityAlert: () => undefined,
      app: request ? { request: (_from, inner) => request(inner) } : {},
    },
  );
  const api = await serveSessions(name, identity, sessions, { links: true });
  cleanups.push(
    () => api.close(),
    () => sessions.close(),
  );
  return { id: identity.fingerprint, sessions, url: api.url };
}

describe('a request in flight while the requester handshakes again', () => {
  it('runs once at the responder, and fails at the requester without being sent again', async () => {
    let calls = 0;
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const b = await node('b', async (inner) => {
      calls++;
      if (calls === 1) await gate;
      return { status: 200, body: { n: calls, echo: inner.body } };
    });
    const a = await node('a');
    await a.sessions.connect({ url: b.url, expectedPeerId: b.id });
    const send = { method: 'POST', path: '/rooms/x/send', body: { id: 1 } } as const;
    const pending = a.sessions.request(b.id, send);
    await until(() => calls === 1, 'the handler to run');
    // E.g. `conclave connect`, or `--peer` at start racing the rooms' own handshake.
    const renewed = await a.sessions.connect({ url: b.url, expectedPeerId: b.id });
    release();
    await expect(pending).rejects.toMatchObject({
      code: 'ERR_PEER_UNREACHABLE',
      details: { reason: 'answer-lost' },
      message: expect.stringContaining('not sent again') as unknown,
    });
    expect(calls).toBe(1);
    // The new session serves the next request.
    await expect(a.sessions.request(b.id, send)).resolves.toMatchObject({ body: { n: 2 } });
    expect(a.sessions.sessionView(b.id)?.sessionId).toBe(renewed.sessionId);
  });
});
