import { beforeAll, describe, expect, it } from 'vitest';
import { createReplayCache } from '../../../src/actors/handshake/replay-cache.js';
import {
  createHandshakeResponder,
  type HandshakeResponderDeps,
} from '../../../src/actors/handshake/responder.js';
import {
  initiateHandshake,
  type HandshakeRequesterDeps,
} from '../../../src/actors/handshake/requester.js';
import type { EstablishedSession } from '../../../src/actors/handshake/types.js';
import { generateIdentity, type Identity } from '../../../src/crypto/identity.js';
import type { HandshakeSuite } from '../../../src/machines/handshake.types.js';
import { fixedIdentity, fixedRsaTransportKey } from '../../crypto/handshake.fixtures.js';
import { pinsOf, random, recording, replayTo, waitFor, wire, type Recording } from './support.js';

const alice = fixedIdentity(0x11);
const bob = fixedIdentity(0x22);
const rsaTransportKey = fixedRsaTransportKey();
const BOTH: readonly HandshakeSuite[] = ['x25519-aes256gcm', 'rsaoaep-aes256gcm'];

function setup(
  over: {
    responder?: Partial<HandshakeResponderDeps>;
    requester?: Partial<HandshakeRequesterDeps>;
  } = {},
  rec: Recording = recording(),
) {
  const established: EstablishedSession[] = [];
  const responderDeps: HandshakeResponderDeps = {
    identity: bob,
    acceptedSuites: BOTH,
    replayCache: createReplayCache({ freshnessMs: 60_000 }),
    pins: pinsOf(),
    now: () => new Date(),
    random,
    spawnActor: rec.spawnActor,
    onEstablished: (s) => established.push(s),
    ...over.responder,
  };
  const responder = createHandshakeResponder(responderDeps);
  const requesterDeps: HandshakeRequesterDeps = {
    identity: alice,
    rsaTransportKey,
    post: wire(responder),
    pins: pinsOf(),
    now: () => new Date(),
    random,
    spawnActor: rec.spawnActor,
    ...over.requester,
  };
  return { responder, responderDeps, requesterDeps, established, rec };
}

function expectSameKeys(mine: EstablishedSession, theirs: EstablishedSession): void {
  expect(mine.chains.sendRequests.equals(theirs.chains.recvRequests)).toBe(true);
  expect(mine.chains.recvRequests.equals(theirs.chains.sendRequests)).toBe(true);
  expect(mine.chains.sendPush.equals(theirs.chains.recvPush)).toBe(true);
  expect(mine.chains.recvPush.equals(theirs.chains.sendPush)).toBe(true);
  for (const key of Object.values(mine.chains)) expect(key.length).toBe(32);
  expect([mine.sas, mine.keyId, mine.sid, mine.suite]).toEqual([
    theirs.sas,
    theirs.keyId,
    theirs.sid,
    theirs.suite,
  ]);
}

describe('handshake drivers, in process', () => {
  let rsaIdentity: Identity;
  beforeAll(async () => {
    rsaIdentity = await generateIdentity('rsa');
  }, 60_000);

  it.each([
    ['x25519-aes256gcm', ['x25519-aes256gcm']],
    ['rsaoaep-aes256gcm', ['rsaoaep-aes256gcm']],
    ['x25519-aes256gcm', BOTH],
  ] as const)('establish %s (offered %j) with identical keys and SAS', async (suite, suites) => {
    const { requesterDeps, established, responder } = setup();
    const r = await initiateHandshake(requesterDeps, {
      url: 'http://bob',
      expectedPeerId: bob.fingerprint,
      suites,
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.session).toMatchObject({ role: 'requester', peerId: bob.fingerprint, suite });
    expect(established).toHaveLength(1);
    expect(established[0]).toMatchObject({
      role: 'responder',
      peerId: alice.fingerprint,
      peerKind: 'ed25519',
    });
    expectSameKeys(r.session, established[0]!);
    expect(responder.pendingCount).toBe(0);
  });

  it('establishes RSA mode with an RSA-PSS identity on the responder side', async () => {
    const { requesterDeps, established } = setup({ responder: { identity: rsaIdentity } });
    const r = await initiateHandshake(requesterDeps, {
      url: 'http://bob',
      expectedPeerId: rsaIdentity.fingerprint,
      suites: ['rsaoaep-aes256gcm'],
    });
    expect(r.ok && r.session.peerKind).toBe('rsa');
    if (r.ok) expectSameKeys(r.session, established[0]!);
  });

  it('establishes with an RSA-PSS identity on the requester side, ECDH suite', async () => {
    const { requesterDeps, established } = setup({ requester: { identity: rsaIdentity } });
    const r = await initiateHandshake(requesterDeps, {
      url: 'http://bob',
      expectedPeerId: null,
      suites: ['x25519-aes256gcm'],
    });
    expect(r.ok).toBe(true);
    expect(established[0]).toMatchObject({ peerId: rsaIdentity.fingerprint, peerKind: 'rsa' });
  });

  it('connects by URL (no expected peer id) and learns the responder id', async () => {
    const { requesterDeps } = setup();
    const r = await initiateHandshake(requesterDeps, {
      url: 'http://bob',
      expectedPeerId: null,
      suites: ['x25519-aes256gcm'],
    });
    expect(r.ok && r.session.peerId).toBe(bob.fingerprint);
  });

  it('runs many handshakes between the same peers with distinct keys', async () => {
    const { requesterDeps, established } = setup();
    const target = { url: 'http://bob', expectedPeerId: bob.fingerprint, suites: BOTH };
    const results = await Promise.all(
      Array.from({ length: 20 }, () => initiateHandshake(requesterDeps, target)),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(new Set(established.map((s) => s.keyId)).size).toBe(20);
  });

  it('refuses a skewed requester clock (responder: stale) and a skewed accept (requester: stale)', async () => {
    const skewed = () => new Date(Date.now() - 120_000);
    const a = setup({ requester: { now: skewed } });
    const r1 = await initiateHandshake(a.requesterDeps, {
      url: 'u',
      expectedPeerId: null,
      suites: BOTH,
    });
    expect(r1).toMatchObject({
      ok: false,
      reason: 'rejected',
      code: 'ERR_HANDSHAKE_FAILED',
      detail: 'stale',
    });
    // A lenient responder (10 min window) accepts; the requester's own 60 s check refuses.
    const b = setup({ responder: { now: skewed, freshnessMs: 600_000 } });
    const r2 = await initiateHandshake(b.requesterDeps, {
      url: 'u',
      expectedPeerId: null,
      suites: BOTH,
    });
    expect(r2).toMatchObject({ ok: false, reason: 'stale' });
    expect(b.established).toHaveLength(0);
  });

  it('refuses an offer to another peer id (wrong-peer)', async () => {
    const { requesterDeps } = setup();
    const r = await initiateHandshake(requesterDeps, {
      url: 'u',
      expectedPeerId: 'c'.repeat(64),
      suites: BOTH,
    });
    expect(r).toMatchObject({ ok: false, reason: 'rejected', detail: 'wrong-peer' });
  });

  it('reports unreachable and timeout from the transport', async () => {
    const down = setup({
      requester: { post: () => Promise.reject(new Error('ECONNREFUSED')) },
    });
    const r1 = await initiateHandshake(down.requesterDeps, {
      url: 'u',
      expectedPeerId: null,
      suites: BOTH,
    });
    expect(r1).toMatchObject({ ok: false, reason: 'unreachable' });
    const hang = setup({ requester: { post: () => new Promise(() => {}), timeoutMs: 30 } });
    const r2 = await initiateHandshake(hang.requesterDeps, {
      url: 'u',
      expectedPeerId: null,
      suites: BOTH,
    });
    expect(r2).toMatchObject({ ok: false, reason: 'timeout' });
  });

  it('fails with malformed when the answer does not parse or names another sid', async () => {
    const junk = setup({
      requester: { post: () => Promise.resolve({ status: 200, body: { v: 1 } }) },
    });
    const r = await initiateHandshake(junk.requesterDeps, {
      url: 'u',
      expectedPeerId: null,
      suites: BOTH,
    });
    expect(r).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('times out on the responder when no confirm comes, and forgets the keys', async () => {
    const { responder, requesterDeps, rec } = setup({ responder: { timeoutMs: 200 } });
    const silent = {
      ...requesterDeps,
      post: wire(responder, { request: (p, b) => (p.endsWith('/confirm') ? {} : b) }),
    };
    const r = await initiateHandshake(silent, { url: 'u', expectedPeerId: null, suites: BOTH });
    expect(r).toMatchObject({ ok: false, reason: 'rejected', code: 'ERR_INVALID_MESSAGE' });
    expect(responder.pendingCount).toBe(1);
    await waitFor(() => responder.pendingCount === 0);
    await rec.writer.flush();
    const streams = await rec.store.listStreams('session:');
    const responderStream = await rec.store.readStream(
      streams.find((s) => s.stream.startsWith(`session:${alice.fingerprint}`))!.stream,
    );
    expect(responderStream.at(-1)?.meta.to).toBe('failed');
    expect(responderStream.at(-1)?.type).toMatch(/^xstate\.after\./);
  });
});

describe('recording and replay', () => {
  it('records both sides of a successful and of a failing handshake, and transition() replays them exactly', async () => {
    const rec = recording();
    const ok = setup({}, rec);
    const r1 = await initiateHandshake(ok.requesterDeps, {
      url: 'http://bob',
      expectedPeerId: bob.fingerprint,
      suites: BOTH,
    });
    expect(r1.ok).toBe(true);
    const blocked = setup({ responder: { pins: pinsOf({ [alice.fingerprint]: 'blocked' }) } }, rec);
    const r2 = await initiateHandshake(blocked.requesterDeps, {
      url: 'http://bob',
      expectedPeerId: bob.fingerprint,
      suites: ['rsaoaep-aes256gcm'],
    });
    expect(r2).toMatchObject({ ok: false, reason: 'rejected', detail: 'blocked' });
    await rec.writer.flush();

    const streams = await rec.store.listStreams('session:');
    expect(streams).toHaveLength(4); // requester + responder, twice
    const finals: unknown[] = [];
    for (const { stream } of streams) {
      const events = await rec.store.readStream(stream);
      expect(events[0]?.type).toBe('xstate.init');
      expect(replayTo(events)).toEqual(events.map((e) => e.meta.to));
      finals.push(`${String(events[0]?.meta.machine)}:${String(events.at(-1)?.meta.to)}`);
    }
    expect(finals.sort()).toEqual([
      'handshake-requester:established',
      'handshake-requester:failed',
      'handshake-responder:established',
      'handshake-responder:failed',
    ]);
    const responderTypes = (
      await rec.store.readStream(`session:${alice.fingerprint}:${r1.ok ? r1.session.sid : ''}`)
    ).map((e) => e.type);
    expect(responderTypes).toEqual([
      'xstate.init',
      'offer.received',
      'accept.sent',
      'confirm.received',
    ]);
  });

  it('never writes key material to the log', async () => {
    const rec = recording();
    const { requesterDeps } = setup({}, rec);
    const r = await initiateHandshake(requesterDeps, {
      url: 'u',
      expectedPeerId: null,
      suites: BOTH,
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    await rec.writer.flush();
    const log = JSON.stringify(await rec.store.readAll());
    expect(log).toContain(r.session.keyId);
    for (const key of Object.values(r.session.chains)) {
      for (const enc of ['hex', 'base64', 'base64url'] as const)
        expect(log).not.toContain(key.toString(enc));
    }
    expect(log).not.toContain('[redacted]'); // nothing secret-named was even offered to the recorder
  });
});
