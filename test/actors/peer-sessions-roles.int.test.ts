/**
 * Two peers that each send requests to the other hold two sessions: one each opened as requester.
 * A new session must supersede only the previous one of the same role, concurrent first requests
 * must share one handshake, pushes may ride either session, and a session that expires is removed
 * with its link without anyone asking for it. Real PeerSessions over real HTTP and links.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import type { SpawnActor } from '../../src/actors/handshake/types.js';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import type { PeerSessions, PeerSessionsInit } from '../../src/actors/peer-sessions.types.js';
import { generateIdentity } from '../../src/crypto/index.js';
import type { InnerPush } from '../../src/protocol/sealed.codec.js';
import { serveSessions } from '../support/session-api.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const spawnActor: SpawnActor = (machine, input) => createActor(machine, { input }).start() as never;

async function node(name: string, init: Omit<PeerSessionsInit, 'identity'> = {}) {
  const identity = await generateIdentity('ed25519');
  const established: Array<{ sid: string; role: string }> = [];
  const received: InnerPush[] = [];
  const sessions: PeerSessions = createPeerSessions(
    { identity, ...init },
    {
      spawnActor,
      pinState: () => 'none',
      onEstablished: (s) => established.push({ sid: s.sid, role: s.role }),
      onSecurityAlert: () => undefined,
      app: {
        request: (_from, inner) => Promise.resolve({ status: 200, body: { echo: inner.body } }),
        push: (_from, inner) => void received.push(inner),
      },
    },
  );
  const api = await serveSessions(name, identity, sessions, { links: true });
  cleanups.push(
    () => api.close(),
    () => sessions.close(),
  );
  return { id: identity.fingerprint, sessions, url: api.url, established, received };
}
type Node = Awaited<ReturnType<typeof node>>;

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

const opened = (n: Node, role: string): number =>
  n.established.filter((e) => e.role === role).length;

/** `loops` sequential request loops of `each` requests from `from` to `to`, all at once. */
function requestLoops(from: Node, to: Node, loops: number, each: number) {
  return Array.from({ length: loops }, async (_, loop) => {
    const outcomes: Array<number | string> = [];
    for (let i = 0; i < each; i++) {
      const body = { loop, i };
      try {
        const r = await from.sessions.request(to.id, { method: 'POST', path: '/echo', body }, [
          to.url,
        ]);
        outcomes.push(
          r.status === 200 && JSON.stringify(r.body) === JSON.stringify({ echo: body })
            ? 200
            : r.status,
        );
      } catch (err) {
        outcomes.push((err as { code?: string }).code ?? 'error');
      }
    }
    return outcomes;
  });
}

describe('sessions with a peer in both roles', () => {
  it('answers requests sent both ways at once, with one handshake per direction', async () => {
    const a = await node('a');
    const b = await node('b');
    const outcomes = (
      await Promise.all([...requestLoops(a, b, 3, 10), ...requestLoops(b, a, 3, 10)])
    ).flat();
    expect(outcomes.filter((o) => o !== 200)).toEqual([]);
    expect(outcomes).toHaveLength(60);
    // a opened one session to b (b answered it), and b one to a
    expect([opened(a, 'requester'), opened(a, 'responder')]).toEqual([1, 1]);
    expect([opened(b, 'requester'), opened(b, 'responder')]).toEqual([1, 1]);
    expect(a.sessions.stats().sessions).toBe(2);
    expect(b.sessions.stats().sessions).toBe(2);
  }, 30_000);

  it('makes one handshake for many concurrent first requests to a peer', async () => {
    const a = await node('a');
    const b = await node('b');
    const outcomes = (await Promise.all(requestLoops(a, b, 8, 1))).flat();
    expect(outcomes).toEqual(Array(8).fill(200));
    expect(a.established).toHaveLength(1);
    expect(b.established).toHaveLength(1);
  }, 30_000);

  it('pushes over the session the peer opened, over ours, and prefers a link that is up', async () => {
    // a opens no links of its own: its session to b is served by sealed requests and polling
    const a = await node('a', { links: false });
    const b = await node('b');
    const toA = await b.sessions.connect({ url: a.url, expectedPeerId: a.id });
    expect(toA.link).toBe('up');
    await until(() => a.sessions.isLinkUp(b.id), 'the link b opened, proven on a');

    // only b's session exists: pushes ride its link both ways
    expect(await a.sessions.push(b.id, { type: 'test.frame', n: 1 })).toBe('link');
    expect(await b.sessions.push(a.id, { type: 'test.frame', n: 2 })).toBe('link');

    // a opens its own session (no link): it keeps b's, and pushes still take the link
    const toB = await a.sessions.connect({ url: b.url, expectedPeerId: b.id });
    expect(toB.link).toBe('down');
    expect(a.sessions.stats()).toMatchObject({ sessions: 2, linksUp: 1 });
    expect(b.sessions.stats()).toMatchObject({ sessions: 2, linksUp: 1 });
    expect(await a.sessions.push(b.id, { type: 'test.frame', n: 3 })).toBe('link');
    expect(await b.sessions.push(a.id, { type: 'test.frame', n: 4 })).toBe('link');
    expect(a.sessions.sendFrame(b.id, Buffer.from([0xee]))).toBe(true);
    await until(() => a.received.length === 2 && b.received.length === 2, 'four pushes');
    expect(a.received.map((p) => p.n)).toEqual([2, 4]);
    expect(b.received.map((p) => p.n)).toEqual([1, 3]);

    // a's requests go on a's own session, without another handshake
    const r = await a.sessions.request(b.id, { method: 'POST', path: '/echo', body: 5 });
    expect(r.status).toBe(200);
    expect(a.sessions.sessionView(b.id)).toMatchObject({
      sessionId: toA.sessionId,
      role: 'responder',
      link: 'up',
      others: [expect.objectContaining({ sessionId: toB.sessionId, role: 'requester' })],
    });
    expect(a.established.map((e) => e.sid)).toEqual([toA.sessionId, toB.sessionId]);

    // with the link gone, a's push takes its own session (a sealed request) rather than a queue
    b.sessions.close();
    await until(() => a.sessions.stats().linksUp === 0, 'the link closed');
    await expect(a.sessions.push(b.id, { type: 'test.frame', n: 6 })).rejects.toMatchObject({
      code: 'ERR_PEER_UNREACHABLE',
    });
  }, 30_000);

  it('removes a session that expired, closing its link, without being asked', async () => {
    const session = { idleTimeoutMs: 200 };
    const a = await node('a', { session });
    const b = await node('b', { session });
    await a.sessions.connect({ url: b.url, expectedPeerId: b.id });
    await until(() => b.sessions.stats().linksUp === 1, 'the link proven on b');
    expect(a.sessions.stats()).toMatchObject({ sessions: 1, linksUp: 1 });
    // nothing touches the session from here: only its idle timer runs
    await until(
      () =>
        a.sessions.stats().sessions === 0 &&
        b.sessions.stats().sessions === 0 &&
        a.sessions.stats().linksUp === 0 &&
        b.sessions.stats().linksUp === 0,
      'both sides to drop the expired session',
    );
    expect(a.sessions.hasSession(a.established[0]?.sid ?? '')).toBe(false);
    expect(a.sessions.sessionView(b.id)).toBeNull();
  }, 30_000);
});
