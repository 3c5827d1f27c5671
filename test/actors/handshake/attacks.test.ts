/**
 * Attacks on the handshake (A10 MITM, A11 downgrade, A12 replay, A21 fuzzing) with both drivers
 * in process: the requester's `post` calls the responder's handlers, and a man in the middle
 * rewrites bodies in between.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReplayCache, seedReplayCache } from '../../../src/actors/handshake/replay-cache.js';
import {
  createHandshakeResponder,
  type HandshakeResponderDeps,
} from '../../../src/actors/handshake/responder.js';
import {
  initiateHandshake,
  type HandshakeRequesterDeps,
  type PostResult,
} from '../../../src/actors/handshake/requester.js';
import type { EstablishedSession } from '../../../src/actors/handshake/types.js';
import { fromBase64Url, toBase64Url } from '../../../src/crypto/bytes.js';
import { buildAccept } from '../../../src/crypto/handshake-accept.js';
import { transcriptHash } from '../../../src/crypto/handshake-key-schedule.js';
import { buildOffer } from '../../../src/crypto/handshake-offer.js';
import type { Identity } from '../../../src/crypto/identity.js';
import { sign, SignatureDomains } from '../../../src/crypto/signature.js';
import { generateX25519KeyPair } from '../../../src/crypto/x25519.js';
import type { HandshakeSuite } from '../../../src/machines/handshake.types.js';
import {
  offerFields,
  type HandshakeAccept,
  type HandshakeOffer,
} from '../../../src/protocol/handshake.codec.js';
import { fixedIdentity, fixedRsaTransportKey } from '../../crypto/handshake.fixtures.js';
import {
  pinsOf,
  plainSpawn,
  random,
  recording,
  replayTo,
  waitFor,
  wire,
  type Recording,
  type WireHooks,
} from './support.js';

const alice = fixedIdentity(0x11);
const bob = fixedIdentity(0x22);
const mallory = fixedIdentity(0x66);
const rsaTransportKey = fixedRsaTransportKey();
const BOTH: readonly HandshakeSuite[] = ['x25519-aes256gcm', 'rsaoaep-aes256gcm'];
const TO_BOB = { url: 'http://bob', expectedPeerId: bob.fingerprint, suites: BOTH };

function setup(
  over: {
    responder?: Partial<HandshakeResponderDeps>;
    requester?: Partial<HandshakeRequesterDeps>;
    hooks?: WireHooks;
  } = {},
  rec: Recording = recording(),
) {
  const established: EstablishedSession[] = [];
  const responder = createHandshakeResponder({
    identity: bob,
    acceptedSuites: BOTH,
    replayCache: createReplayCache({ freshnessMs: 60_000 }),
    pins: pinsOf(),
    now: () => new Date(),
    random,
    spawnActor: rec.spawnActor,
    timeoutMs: 200,
    onEstablished: (s) => established.push(s),
    ...over.responder,
  });
  const sent: Array<{ path: string; body: unknown }> = [];
  const requesterDeps: HandshakeRequesterDeps = {
    identity: alice,
    rsaTransportKey,
    post: wire(responder, { sent, ...over.hooks }),
    pins: pinsOf(),
    now: () => new Date(),
    random,
    spawnActor: rec.spawnActor,
    ...over.requester,
  };
  return { responder, requesterDeps, established, rec, sent };
}

const isOffer = (path: string) => path.endsWith('/offer');

/** Re-sign an accept with another key, optionally claiming other identity fields. */
function resign(
  offer: HandshakeOffer,
  accept: HandshakeAccept,
  signer: Identity,
  claim: Partial<Pick<HandshakeAccept, 'from' | 'publicKey' | 'kind'>>,
): HandshakeAccept {
  const changed = { ...accept, ...claim };
  const th = transcriptHash(offer, changed);
  const sig = sign(signer.privateKey, SignatureDomains.handshakeResponse, [
    th,
    fromBase64Url(changed.auth),
  ]);
  return { ...changed, sig: toBase64Url(sig) };
}

/** A response hook that rewrites the accept, knowing the offer it answers. */
function rewriteAccept(fn: (offer: HandshakeOffer, accept: HandshakeAccept) => HandshakeAccept) {
  let offer: HandshakeOffer | undefined;
  return {
    request: (path: string, body: unknown) => {
      if (isOffer(path)) offer = body as HandshakeOffer;
      return body;
    },
    response: (path: string, r: PostResult): PostResult =>
      isOffer(path) && r.status === 200 && offer
        ? { ...r, body: fn(offer, r.body as HandshakeAccept) }
        : r,
  };
}

const otherEph = () => toBase64Url(generateX25519KeyPair().publicKeyRaw);

describe('A10 man in the middle: the requester fails before any app data, the responder never establishes', () => {
  it.each<[string, (o: HandshakeOffer, a: HandshakeAccept) => HandshakeAccept, string]>([
    ['swaps the responder ephemeral', (_o, a) => ({ ...a, eph: otherEph() }), 'bad-signature'],
    [
      're-signs with its own key, keeping bob’s id and key',
      (o, a) => resign(o, a, mallory, {}),
      'bad-signature',
    ],
    [
      're-signs with its own key under bob’s id',
      (o, a) => resign(o, a, mallory, { publicKey: toBase64Url(mallory.publicKeyBytes) }),
      'identity-mismatch',
    ],
    [
      're-signs as itself',
      (o, a) =>
        resign(o, a, mallory, {
          from: mallory.fingerprint,
          publicKey: toBase64Url(mallory.publicKeyBytes),
        }),
      'key-changed',
    ],
    [
      'answers with a complete accept of its own',
      (o) =>
        buildAccept({
          identity: mallory,
          offer: o,
          suite: 'x25519-aes256gcm',
          ts: Date.now(),
          nonce: random(32),
          sak: random(32),
          eph: generateX25519KeyPair(),
        }).accept,
      'key-changed',
    ],
  ])('when it %s (%s)', async (_name, rewrite, reason) => {
    const alerts: unknown[] = [];
    const { requesterDeps, established, responder } = setup({ hooks: rewriteAccept(rewrite) });
    const r = await initiateHandshake(
      { ...requesterDeps, onSecurityAlert: (a) => alerts.push(a) },
      TO_BOB,
    );
    expect(r).toMatchObject({ ok: false, reason });
    expect(alerts).toHaveLength(reason === 'key-changed' ? 1 : 0);
    await waitFor(() => responder.pendingCount === 0); // the responder's confirm timeout
    expect(established).toHaveLength(0);
  });

  it('when it swaps the requester ephemeral in the offer: the responder refuses (bad-signature)', async () => {
    const { requesterDeps, established } = setup({
      hooks: {
        request: (p, b) => (isOffer(p) ? { ...(b as HandshakeOffer), eph: otherEph() } : b),
      },
    });
    const r = await initiateHandshake(requesterDeps, TO_BOB);
    expect(r).toMatchObject({
      ok: false,
      reason: 'rejected',
      code: 'ERR_HANDSHAKE_FAILED',
      detail: 'bad-signature',
    });
    expect(established).toHaveLength(0);
  });

  it('when it relays the offer re-signed as itself: bob talks to mallory, alice refuses the accept', async () => {
    const relay = (p: string, b: unknown): unknown => {
      if (!isOffer(p)) return b;
      const { sig: _sig, ...o } = b as HandshakeOffer;
      const unsigned = {
        ...o,
        from: mallory.fingerprint,
        publicKey: toBase64Url(mallory.publicKeyBytes),
      };
      return {
        ...unsigned,
        sig: toBase64Url(
          sign(mallory.privateKey, SignatureDomains.handshakeRequest, offerFields(unsigned)),
        ),
      };
    };
    const { requesterDeps, established, responder } = setup({ hooks: { request: relay } });
    const r = await initiateHandshake(requesterDeps, TO_BOB);
    expect(r).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(responder.pendingCount).toBe(1); // bob accepted mallory's offer …
    await waitFor(() => responder.pendingCount === 0); // … but nobody can confirm it
    expect(established).toHaveLength(0);
  });

  it('when it forwards a confirm it cannot compute: bad-confirm, no session', async () => {
    const { requesterDeps, established } = setup({
      hooks: {
        request: (p, b) => (isOffer(p) ? b : { ...(b as object), mac: toBase64Url(random(32)) }),
      },
    });
    const r = await initiateHandshake(requesterDeps, TO_BOB);
    expect(r).toMatchObject({ ok: false, reason: 'rejected', detail: 'bad-confirm' });
    expect(established).toHaveLength(0);
  });
});

describe('A11 downgrade', () => {
  it('a rewritten suite list in the offer breaks its signature', async () => {
    for (const rewrite of [
      (o: HandshakeOffer) => ({ ...o, suites: [...o.suites].reverse() }),
      (o: HandshakeOffer) => ({ ...o, suites: ['rsaoaep-aes256gcm'], eph: null }),
    ]) {
      const { requesterDeps, established } = setup({
        hooks: { request: (p, b) => (isOffer(p) ? rewrite(b as HandshakeOffer) : b) },
      });
      const r = await initiateHandshake(requesterDeps, TO_BOB);
      expect(r).toMatchObject({ ok: false, reason: 'rejected', detail: 'bad-signature' });
      expect(established).toHaveLength(0);
    }
  });

  it('a rewritten suite in the accept is bad-signature (offered) or downgraded (not offered)', async () => {
    const toRsa = (_o: HandshakeOffer, a: HandshakeAccept): HandshakeAccept => ({
      ...a,
      suite: 'rsaoaep-aes256gcm',
      eph: null,
      wrapped: toBase64Url(random(384)),
    });
    const both = setup({ hooks: rewriteAccept(toRsa) });
    expect(await initiateHandshake(both.requesterDeps, TO_BOB)).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    const onlyX = setup({ hooks: rewriteAccept(toRsa) });
    expect(
      await initiateHandshake(onlyX.requesterDeps, { ...TO_BOB, suites: ['x25519-aes256gcm'] }),
    ).toMatchObject({ ok: false, reason: 'downgraded' });
  });

  it('a responder that refuses RSA never falls back to it (unknown-suite)', async () => {
    const { requesterDeps } = setup({ responder: { acceptedSuites: ['x25519-aes256gcm'] } });
    const r = await initiateHandshake(requesterDeps, { ...TO_BOB, suites: ['rsaoaep-aes256gcm'] });
    expect(r).toMatchObject({ ok: false, reason: 'rejected', detail: 'unknown-suite' });
  });

  it('picks forward secrecy when both are offered in either order', async () => {
    const { requesterDeps } = setup();
    const r = await initiateHandshake(requesterDeps, {
      ...TO_BOB,
      suites: ['rsaoaep-aes256gcm', 'x25519-aes256gcm'],
    });
    expect(r.ok && r.session.suite).toBe('x25519-aes256gcm');
  });
});

describe('A12 replay', () => {
  function capturedOffer(sent: Array<{ path: string; body: unknown }>): HandshakeOffer {
    return sent.find((s) => isOffer(s.path))!.body as HandshakeOffer;
  }

  it('the same offer twice: the second is replayed, while pending and after the session', async () => {
    const { responder, established, requesterDeps, sent } = setup();
    const offer = buildOffer({
      identity: alice,
      sid: random(16),
      nonce: random(32),
      ts: Date.now(),
      suites: ['x25519-aes256gcm'],
      to: bob.fingerprint,
      ephPublic: generateX25519KeyPair().publicKeyRaw,
    });
    expect((await responder.handleOffer(offer)).ok).toBe(true);
    expect(await responder.handleOffer(offer)).toMatchObject({ ok: false, reason: 'replayed' });

    expect((await initiateHandshake(requesterDeps, TO_BOB)).ok).toBe(true);
    expect(await responder.handleOffer(capturedOffer(sent))).toMatchObject({
      ok: false,
      status: 422,
      reason: 'replayed',
    });
    expect(established).toHaveLength(1);
  });

  it('after a restart: a responder whose cache was rebuilt from the log refuses it (replayed)', async () => {
    const rec = recording();
    const first = setup({}, rec);
    expect((await initiateHandshake(first.requesterDeps, TO_BOB)).ok).toBe(true);
    await rec.writer.flush();

    const replayCache = createReplayCache({ freshnessMs: 60_000 });
    const seeded = seedReplayCache(
      replayCache,
      await rec.store.readAll({ streamPrefix: 'session:' }),
      Date.now(),
    );
    expect(seeded).toBe(1);
    const restarted = setup({ responder: { replayCache } }, rec);
    const offer = capturedOffer(first.sent);
    expect(await restarted.responder.handleOffer(offer)).toMatchObject({
      ok: false,
      reason: 'replayed',
    });
    expect(restarted.established).toHaveLength(0);

    // The refusal is the machine's, recorded in the session stream after the first handshake.
    await rec.writer.flush();
    const stream = await rec.store.readStream(`session:${alice.fingerprint}:${offer.sid}`);
    expect(stream.map((e) => e.type)).toEqual([
      'xstate.init',
      'offer.received',
      'accept.sent',
      'confirm.received',
      'xstate.init',
      'offer.received',
    ]);
    expect(stream.at(-1)?.meta.to).toBe('failed');
    expect(replayTo(stream)).toEqual(stream.map((e) => e.meta.to));
  });

  it('ten minutes later: stale', async () => {
    const first = setup();
    expect((await initiateHandshake(first.requesterDeps, TO_BOB)).ok).toBe(true);
    const later = setup({ responder: { now: () => new Date(Date.now() + 600_000) } });
    expect(await later.responder.handleOffer(capturedOffer(first.sent))).toMatchObject({
      ok: false,
      reason: 'stale',
    });
  });

  it('to a responder that never saw the nonce: accepted, but no session without the keys', async () => {
    const first = setup();
    expect((await initiateHandshake(first.requesterDeps, TO_BOB)).ok).toBe(true);
    const offer = capturedOffer(first.sent);
    const confirm = first.sent.find((s) => !isOffer(s.path))!.body;

    // Replay offer and the captured confirm: a new accept (new ephemeral) makes it bad-confirm.
    const fresh = setup();
    expect((await fresh.responder.handleOffer(offer)).ok).toBe(true);
    expect(await fresh.responder.handleConfirm(confirm)).toMatchObject({
      ok: false,
      reason: 'bad-confirm',
    });
    // Replay the offer alone: nobody can confirm, it times out.
    const other = setup();
    expect((await other.responder.handleOffer(offer)).ok).toBe(true);
    await waitFor(() => other.responder.pendingCount === 0);
    expect(await other.responder.handleConfirm(confirm)).toMatchObject({
      ok: false,
      reason: 'unknown-session',
    });
    expect([...fresh.established, ...other.established]).toHaveLength(0);
  });
});

describe('trust', () => {
  it('a blocked requester is refused by the responder (blocked)', async () => {
    const { requesterDeps } = setup({
      responder: { pins: pinsOf({ [alice.fingerprint]: 'blocked' }) },
    });
    expect(await initiateHandshake(requesterDeps, TO_BOB)).toMatchObject({
      ok: false,
      reason: 'rejected',
      detail: 'blocked',
    });
  });

  it('a blocked responder is refused by the requester (blocked)', async () => {
    const { requesterDeps, established } = setup({
      requester: { pins: pinsOf({ [bob.fingerprint]: 'blocked' }) },
    });
    expect(await initiateHandshake(requesterDeps, TO_BOB)).toMatchObject({
      ok: false,
      reason: 'blocked',
    });
    expect(established).toHaveLength(0);
  });
});

describe('A21 fuzzed bodies: the responder answers 4xx and never throws', () => {
  const responder = createHandshakeResponder({
    identity: bob,
    acceptedSuites: BOTH,
    replayCache: createReplayCache({ freshnessMs: 60_000 }),
    pins: pinsOf(),
    now: () => new Date(),
    random,
    spawnActor: plainSpawn,
    timeoutMs: 1_000,
  });
  const base = buildOffer({
    identity: alice,
    sid: random(16),
    nonce: random(32),
    ts: Date.now(),
    suites: [...BOTH],
    to: bob.fingerprint,
    ephPublic: generateX25519KeyPair().publicKeyRaw,
    rsaKey: toBase64Url(rsaTransportKey.publicKey.export({ type: 'spki', format: 'der' })),
  });
  const keys = Object.keys(base) as Array<keyof HandshakeOffer>;
  const is4xx = (r: { ok: boolean; status?: number }) =>
    !r.ok && r.status !== undefined && r.status >= 400 && r.status < 500;

  it('arbitrary JSON values, to both handlers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (body) => {
        expect(is4xx(await responder.handleOffer(body))).toBe(true);
        expect(is4xx(await responder.handleConfirm(body))).toBe(true);
      }),
      { numRuns: 1_000 },
    );
  });

  it('valid offers with one field replaced or one character changed', async () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.string(),
      fc.constantFrom(null, 0, -1, 2 ** 53, '', '__proto__', 'A'.repeat(5_000)),
    );
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('replace' as const), key: fc.constantFrom(...keys), value }),
      fc.record({
        kind: fc.constant('flip' as const),
        key: fc.constantFrom(...keys.filter((k) => typeof base[k] === 'string')),
        at: fc.nat(),
        char: fc.constantFrom('A', '_', '-', 'z', '0', '=', ' ', 'é'),
      }),
      fc.record({ kind: fc.constant('extra' as const), key: fc.string(), value }),
    );
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const body: Record<string, unknown> = { ...base };
        if (m.kind === 'flip') {
          const text = base[m.key] as string;
          const i = m.at % text.length;
          body[m.key] = text.slice(0, i) + m.char + text.slice(i + 1);
        } else {
          body[m.key] = m.value;
        }
        const r = await responder.handleOffer(JSON.parse(JSON.stringify(body)));
        const isUnchanged = JSON.stringify(body) === JSON.stringify(base);
        expect(r.ok ? isUnchanged : is4xx(r)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
    responder.close();
  });
});
