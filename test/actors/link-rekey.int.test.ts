/**
 * Traffic that rides only the WebSocket link must still re-key the session: the per-epoch chains
 * are finite, so a room host pushing to a member (or a member pushing to its host) would
 * otherwise stop after the chain limit. Two PeerSessions over real HTTP and a real link.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import type { SpawnActor } from '../../src/actors/handshake/types.js';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import type { PeerSessions } from '../../src/actors/peer-sessions.types.js';
import { generateIdentity } from '../../src/crypto/index.js';
import type { InnerPush } from '../../src/protocol/sealed.codec.js';
import { connectLink } from '../../src/transport/ws/peer-link.js';
import { serveSessions } from '../support/session-api.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const spawnActor: SpawnActor = (machine, input) => createActor(machine, { input }).start() as never;

async function node(name: string) {
  const identity = await generateIdentity('ed25519');
  const received: InnerPush[] = [];
  const sessions: PeerSessions = createPeerSessions(
    { identity, session: { rekeyAfterMessages: 20 } },
    {
      spawnActor,
      pinState: () => 'none',
      onEstablished: () => undefined,
      onSecurityAlert: () => undefined,
      app: { push: (_from, inner) => void received.push(inner) },
    },
  );
  const api = await serveSessions(name, identity, sessions, { links: true });
  cleanups.push(
    () => api.close(),
    () => sessions.close(),
  );
  return { identity, sessions, received, url: api.url };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

const epochOf = (s: PeerSessions, peerId: string): number =>
  (s.sessionView(peerId) as { epoch: number } | null)?.epoch ?? -1;

describe('re-keying a session whose traffic is all on the link', () => {
  it('delivers what the responder pushed before the link was proven, in order', async () => {
    const a = await node('a');
    const b = await node('b');
    await a.sessions.connect({ url: b.url, expectedPeerId: b.identity.fingerprint });
    for (let i = 0; i < 5; i++)
      await b.sessions.push(a.identity.fingerprint, { type: 'test.frame', n: i });
    await until(() => a.received.length === 5, 'the five frames');
    expect(a.received.map((p) => p.n)).toEqual([0, 1, 2, 3, 4]);
  }, 30_000);

  it('re-keys while the responder pushes many frames, and every frame arrives', async () => {
    const a = await node('a');
    const b = await node('b');
    const c = await a.sessions.connect({ url: b.url, expectedPeerId: b.identity.fingerprint });
    expect(c.link).toBe('up');
    // the responder takes the link once its first frame proves the session
    await until(() => b.sessions.isLinkUp(a.identity.fingerprint), 'the link proven on b');
    const total = 300;
    for (let i = 0; i < total; i++) {
      expect(await b.sessions.push(a.identity.fingerprint, { type: 'test.frame', n: i })).toBe(
        'link',
      );
      if (i % 25 === 0) await new Promise((r) => setTimeout(r, 5)); // let re-keys complete
    }
    await until(() => a.received.length === total, `${total} frames`);
    expect(a.received.map((p) => p.n)).toEqual([...Array(total).keys()]);
    expect(epochOf(a.sessions, b.identity.fingerprint)).toBeGreaterThan(2);
    // a re-key the last frames set off may still be finishing: both sides end on the same epoch
    await until(
      () =>
        epochOf(b.sessions, a.identity.fingerprint) === epochOf(a.sessions, b.identity.fingerprint),
      'both sides on one epoch',
    );
    expect(epochOf(b.sessions, a.identity.fingerprint)).toBe(
      epochOf(a.sessions, b.identity.fingerprint),
    );
  }, 60_000);

  it('re-keys while the requester pushes many frames', async () => {
    const a = await node('a');
    const b = await node('b');
    await a.sessions.connect({ url: b.url, expectedPeerId: b.identity.fingerprint });
    for (let i = 0; i < 200; i++) {
      await a.sessions.push(b.identity.fingerprint, { type: 'test.frame', n: i });
      if (i % 25 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => b.received.length === 200, '200 frames');
    expect(epochOf(b.sessions, a.identity.fingerprint)).toBeGreaterThan(2);
  }, 60_000);

  it('keeps the genuine link when a stranger who knows the session id opens another one', async () => {
    const a = await node('a');
    const b = await node('b');
    const c = await a.sessions.connect({ url: b.url, expectedPeerId: b.identity.fingerprint });
    await until(() => b.sessions.isLinkUp(a.identity.fingerprint), 'the link proven on b');
    const stranger = await connectLink(b.url, c.sessionId);
    stranger.send(Buffer.from([1, ...new Array<number>(40).fill(7)])); // not sealed for the session
    await stranger.closed; // refused: its first frame does not open under the session's keys
    expect(b.sessions.isLinkUp(a.identity.fingerprint)).toBe(true);
    expect(await b.sessions.push(a.identity.fingerprint, { type: 'test.frame', n: 1 })).toBe(
      'link',
    );
    await until(() => a.received.length === 1, 'the frame over the genuine link');
  }, 30_000);
});
