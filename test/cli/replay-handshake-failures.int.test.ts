/**
 * One failed handshake per failure reason, recorded by real peer processes with durable file logs,
 * then replayed through the CLI (`conclave log replay --store file:…`, JSON and text) after the
 * peers stopped: replay reaches exactly the recorded states, and the explanation names the reason.
 *
 * What only an attacker on the path could do (rewrite a suite, break a signature, delay a message)
 * is done by a man-in-the-middle proxy between the two real peers (`test/support/mitm-proxy.ts`).
 * An impostor that answers under a pinned peer id with its own (validly signed) key is played by
 * the proxy answering the offer itself — no honest conclave peer does that.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildAccept } from '../../src/crypto/handshake-accept.js';
import { generateIdentity, generateX25519KeyPair, type Identity } from '../../src/crypto/index.js';
import { decodeOffer } from '../../src/protocol/handshake.codec.js';
import {
  readAllStreams,
  replayAll,
  replayCli,
  startDurablePeer,
  type DurablePeer,
} from '../support/durable-log.js';
import { http } from '../support/http.js';
import { startMitmProxy, type MitmProxy } from '../support/mitm-proxy.js';
import { runCli, testPeers } from '../support/peer-process.js';

const OFFER_PATH = '/p2p/v1/handshake/offer';
const FIVE_MINUTES = 5 * 60_000;

const lab = testPeers();
const proxies: MitmProxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
  await lab.cleanup();
});

type Json = Record<string, unknown>;

/** Another valid base64url spelling of the same length: a signature that no longer verifies. */
const flipFirst = (b64: unknown): string => {
  const s = String(b64);
  return (s.startsWith('A') ? 'B' : 'A') + s.slice(1);
};

/** Rewrites a man in the middle can make to either message. */
const breakSignature = (m: Json): Json => ({ ...m, sig: flipFirst(m.sig) });
const backdate = (m: Json): Json => ({ ...m, ts: Number(m.ts) - FIVE_MINUTES });

async function mitm(target: string): Promise<MitmProxy> {
  const p = await startMitmProxy(target);
  proxies.push(p);
  return p;
}

async function stopAll(...peers: DurablePeer[]): Promise<void> {
  for (const peer of peers) expect(await peer.p.stop(), `${peer.p.ready.name} exit code`).toBe(0);
}

/** The one session stream of `machine` in `log` that ended in `failed`. */
async function failedStream(log: string, machine: string): Promise<string> {
  const streams = await readAllStreams(log);
  const failed = [...streams]
    .filter(
      ([s, events]) =>
        s.startsWith('session:') &&
        events.some((e) => e.type === 'xstate.init' && e.meta.machine === machine) &&
        events.at(-1)?.meta.to === 'failed',
    )
    .map(([s]) => s);
  expect(failed, `failed ${machine} streams in ${log}`).toHaveLength(1);
  return failed[0]!;
}

/**
 * Replay the failed `machine` stream of `log` through the CLI, in JSON and text: no divergence,
 * every recorded state reached, and the explanation names `reason` (and the peer's reason).
 */
async function expectReplayExplains(
  log: string,
  machine: 'handshake-requester' | 'handshake-responder',
  reason: string,
  peerReason?: string,
): Promise<void> {
  const stream = await failedStream(log, machine);
  const recorded = (await readAllStreams(log)).get(stream)!;

  const json = await replayCli(stream, log, 'json');
  expect(json.code, json.stdout + json.stderr).toBe(0);
  const r = JSON.parse(json.stdout);
  expect(r.problem).toBeNull();
  expect(r.mismatches).toBe(0);
  expect(r.machines).toEqual([machine]);
  expect(r.steps.map((s: { replayedTo: unknown }) => s.replayedTo)).toEqual(
    recorded.map((e) => e.meta.to),
  );
  expect(r.final).toMatchObject({ state: 'failed', status: 'done' });
  expect(r.final.context.reason).toBe(reason);
  expect(r.explanation).toMatchObject({ reason, ...(peerReason ? { peerReason } : {}) });

  const text = await replayCli(stream, log, 'text');
  expect(text.code, text.stdout + text.stderr).toBe(0);
  expect(text.stdout).toContain('every replayed state matches the recorded one');
  expect(text.stdout).not.toContain('MISMATCH');
  expect(text.stdout).toContain(
    peerReason ? `(reason ${reason}, theirs ${peerReason})` : `(reason ${reason})`,
  );
}

/** Every stream of the other side's log replays too (a half-finished handshake included). */
async function expectEveryStreamReplays(log: string): Promise<void> {
  for (const r of await replayAll(log)) {
    expect(r.problem, r.stream).toBeNull();
    expect(r.mismatches, r.stream).toBe(0);
  }
}

async function pair(aliceExtra: string[] = []) {
  const bob = await startDurablePeer(lab, 'bob', ['--no-discovery']);
  const alice = await startDurablePeer(lab, 'alice', ['--no-discovery', ...aliceExtra]);
  return { alice, bob, proxy: await mitm(bob.p.ready.peerUrl) };
}

describe('replay of handshakes an attacker on the path broke (requester detects)', () => {
  const cases: Array<{ reason: string; what: string; rewrite: (accept: Json) => Json }> = [
    { reason: 'bad-signature', what: 'breaks the signature', rewrite: breakSignature },
    { reason: 'stale', what: 'delays the accept by 5 min', rewrite: backdate },
    {
      reason: 'downgraded',
      what: 'rewrites the chosen suite to one never offered',
      rewrite: (a) => ({
        ...a,
        suite: 'rsaoaep-aes256gcm',
        eph: null,
        wrapped: randomBytes(384).toString('base64url'),
      }),
    },
  ];
  for (const c of cases) {
    it(`records, replays and explains ${c.reason} when the man in the middle ${c.what}`, async () => {
      const { alice, bob, proxy } = await pair();
      proxy.set({
        response: (path, body) =>
          path === OFFER_PATH && body.type === 'hs.accept' ? c.rewrite(body) : body,
      });
      const connect = await runCli(['connect', proxy.url, '--data-dir', alice.dir]);
      expect(connect.code).not.toBe(0);
      expect(connect.stderr).toContain(c.reason);
      await stopAll(alice, bob);
      await expectReplayExplains(alice.log, 'handshake-requester', c.reason);
      await expectEveryStreamReplays(bob.log);
    }, 60_000);
  }
});

describe('replay of offers an attacker on the path rewrote (responder detects)', () => {
  const cases: Array<{
    reason: string;
    what: string;
    alice?: string[];
    rewrite: (offer: Json) => Json;
  }> = [
    { reason: 'bad-signature', what: 'breaks the signature', rewrite: breakSignature },
    { reason: 'stale', what: 'replays the offer 5 min late', rewrite: backdate },
    {
      // A downgrade attempt on the offer: strip the forward-secret suite so only RSA transport is
      // left. The suites are signed, so the responder sees a broken signature.
      reason: 'bad-signature',
      what: 'strips x25519 from the offered suites (downgrade attempt)',
      alice: ['--identity', 'rsa'],
      rewrite: (o) => ({ ...o, suites: ['rsaoaep-aes256gcm'], eph: null }),
    },
  ];
  for (const c of cases) {
    it(`records, replays and explains ${c.reason} when the man in the middle ${c.what}`, async () => {
      const { alice, bob, proxy } = await pair(c.alice);
      proxy.set({ request: (path, body) => (path === OFFER_PATH ? c.rewrite(body) : body) });
      const connect = await runCli(['connect', proxy.url, '--data-dir', alice.dir]);
      expect(connect.code).not.toBe(0);
      expect(connect.stderr).toContain('rejected');
      await stopAll(alice, bob);
      await expectReplayExplains(bob.log, 'handshake-responder', c.reason);
      // the requester's own record says the other side refused, and why
      await expectReplayExplains(alice.log, 'handshake-requester', 'rejected', c.reason);
    }, 60_000);
  }
});

/** An accept for `body` (an offer) signed by `impostor`: valid, but from another peer id. */
function impostorAccept(impostor: Identity, body: Json): { status: number; body: unknown } {
  const offer = decodeOffer(body);
  if (!offer.ok) return { status: 400, body: { code: 'ERR_INVALID_MESSAGE' } };
  const { accept } = buildAccept({
    identity: impostor,
    offer: offer.value,
    suite: 'x25519-aes256gcm',
    ts: Date.now(),
    nonce: randomBytes(32),
    sak: randomBytes(32),
    eph: generateX25519KeyPair(),
  });
  return { status: 200, body: accept };
}

describe('replay of a pinned peer id answering with another key', () => {
  /** Alice knows bob (by --peer through the proxy) and holds a session with him: he is pinned. */
  async function aliceKnowsBob() {
    const bob = await startDurablePeer(lab, 'bob', ['--no-discovery']);
    const proxy = await mitm(bob.p.ready.peerUrl);
    const alice = await startDurablePeer(lab, 'alice', ['--no-discovery', '--peer', proxy.url]);
    await vi.waitFor(
      async () => {
        const peers = await http(`${alice.p.ready.apiUrl}/api/peers`, { headers: alice.auth });
        expect(peers.json).toEqual([
          expect.objectContaining({
            peerId: bob.p.ready.peerId,
            trust: 'unverified',
            session: expect.anything(),
          }),
        ]);
      },
      { timeout: 15_000, interval: 200 },
    );
    return { alice, bob, proxy };
  }

  /** Alice connects to bob by his (pinned) id; whoever answers there is not bob. */
  async function expectConnectRefusedAsKeyChanged(alice: DurablePeer, bob: DurablePeer) {
    const byId = ['connect', bob.p.ready.peerId.slice(0, 12), '--data-dir', alice.dir];
    const connect = await runCli(byId);
    expect(connect.code).not.toBe(0);
    expect(connect.stderr).toContain('key-changed');
  }

  it('records, replays and explains key-changed when an impostor answers for the pinned id', async () => {
    const { alice, bob, proxy } = await aliceKnowsBob();
    const impostor = await generateIdentity('ed25519');
    proxy.set({
      answer: (path, body) => (path === OFFER_PATH ? impostorAccept(impostor, body) : undefined),
    });
    await expectConnectRefusedAsKeyChanged(alice, bob);
    await stopAll(alice, bob);
    await expectReplayExplains(alice.log, 'handshake-requester', 'key-changed');
  }, 60_000);

  it('records, replays and explains the refusal when the peer reinstalled with a new key at its address', async () => {
    const { alice, bob, proxy } = await aliceKnowsBob();
    const reinstalled = await startDurablePeer(lab, 'bob-new-key', ['--no-discovery']);
    proxy.retarget(reinstalled.p.ready.peerUrl);
    await expectConnectRefusedAsKeyChanged(alice, bob);
    await stopAll(alice, bob, reinstalled);
    // an honest peer refuses an offer addressed to another id; the requester records that refusal
    await expectReplayExplains(reinstalled.log, 'handshake-responder', 'wrong-peer');
    await expectReplayExplains(alice.log, 'handshake-requester', 'rejected', 'wrong-peer');
  }, 60_000);
});
