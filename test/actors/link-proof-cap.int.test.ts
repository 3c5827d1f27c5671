/**
 * A session id travels in the clear (link URLs), so anyone on the LAN may open links for it; a
 * link only counts once its first frame opens under the session's keys. Until then it is held for
 * at most 5 s — and a session holds at most two such links at once: more are refused at once,
 * instead of each stranger's socket being kept.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { WebSocket } from 'ws';
import type { SpawnActor } from '../../src/actors/handshake/types.js';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import type { PeerSessions } from '../../src/actors/peer-sessions.types.js';
import { generateIdentity } from '../../src/crypto/index.js';
import { serveSessions } from '../support/session-api.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const spawnActor: SpawnActor = (machine, input) => createActor(machine, { input }).start() as never;

async function node(name: string, links: boolean) {
  const identity = await generateIdentity('ed25519');
  const sessions: PeerSessions = createPeerSessions(
    { identity, links },
    {
      spawnActor,
      pinState: () => 'none',
      onEstablished: () => undefined,
      onSecurityAlert: () => undefined,
    },
  );
  const api = await serveSessions(name, identity, sessions, { links: true });
  cleanups.push(
    () => api.close(),
    () => sessions.close(),
  );
  return { id: identity.fingerprint, sessions, url: api.url };
}

/** Open a raw link for `sid` that never proves anything; resolves with its close code, if any. */
function stranger(url: string, sid: string): { closed: Promise<number>; ws: WebSocket } {
  const ws = new WebSocket(`${url.replace('http:', 'ws:')}/p2p/v1/session/${sid}/link`);
  ws.on('error', () => undefined);
  cleanups.push(() => ws.terminate());
  return { ws, closed: new Promise((r) => ws.once('close', (code) => r(code))) };
}

describe('unproven session links', () => {
  it('a session holds at most two unproven links; the third is refused at once', async () => {
    const a = await node('a', false); // no link of its own: the session has none
    const b = await node('b', true);
    const r = await a.sessions.connect({ url: b.url, expectedPeerId: b.id });
    const first = stranger(b.url, r.sessionId);
    const second = stranger(b.url, r.sessionId);
    await Promise.all(
      [first, second].map((s) => new Promise<void>((ok) => s.ws.once('open', () => ok()))),
    );
    const third = stranger(b.url, r.sessionId);
    expect(await third.closed).toBe(4429);
    // the two held ones are still open, and the session still works
    expect(first.ws.readyState).toBe(WebSocket.OPEN);
    expect(second.ws.readyState).toBe(WebSocket.OPEN);
    expect((await a.sessions.ping(b.id, 'request')).via).toBe('request');
    // one of them goes away: a new stranger is held again (not refused)
    first.ws.terminate();
    await first.closed;
    const fourth = stranger(b.url, r.sessionId);
    await new Promise<void>((ok) => fourth.ws.once('open', () => ok()));
    await new Promise((res) => setTimeout(res, 50));
    expect(fourth.ws.readyState).toBe(WebSocket.OPEN);
  });
});
