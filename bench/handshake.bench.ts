/**
 * Handshake throughput (perf-ceilings T4): full in-process handshakes per second, driver to
 * driver (codec, crypto, both machines; no HTTP, no recorder), beside the raw CPU cost of one
 * handshake's primitives measured in the same run. Target: handshakes/s per core ≥ 0.5 ×
 * 1 / (raw CPU of both sides). Key import must stay ≤ 5 % of the raw cost (cached KeyObjects).
 *
 * An informational row runs the protocol's own crypto for both sides (offer, checks, accept,
 * MACs, session keys; no actors, no codec), so the gap splits into "what §2 asks beyond the raw
 * primitives" and "what the actors and codec add".
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { createActor } from 'xstate';
import { createReplayCache } from '../src/actors/handshake/replay-cache.js';
import { createHandshakeResponder } from '../src/actors/handshake/responder.js';
import { initiateHandshake, type PostResult } from '../src/actors/handshake/requester.js';
import type { SpawnActor } from '../src/actors/handshake/types.js';
import { buildAccept, checkAccept } from '../src/crypto/handshake-accept.js';
import { confirmMac, verifyConfirmMac } from '../src/crypto/handshake-key-schedule.js';
import { buildOffer, checkOffer } from '../src/crypto/handshake-offer.js';
import { hkdfSha256, Labels } from '../src/crypto/hkdf.js';
import { exportPublicKey, generateIdentity, importPublicKey } from '../src/crypto/identity.js';
import { pooledRandomBytes } from '../src/crypto/random.js';
import { generateRsaOaepKeyPair, rsaUnwrapKey, rsaWrapKey } from '../src/crypto/rsa-oaep.js';
import { sign, SignatureDomains, verify } from '../src/crypto/signature.js';
import {
  createEphemeralSource,
  generateX25519KeyPair,
  x25519SharedSecret,
} from '../src/crypto/x25519.js';
import type { HandshakeSuite } from '../src/machines/handshake.types.js';
import { measureAsync, measureSync, ratioRow, toRate, type BenchModule, type Rate } from './lib.js';

const spawnActor: SpawnActor = (machine, input) => createActor(machine, { input }).start() as never;

const best = (rates: readonly Rate[]): Rate =>
  rates.reduce((a, b) => (a.opsPerSec >= b.opsPerSec ? a : b));

const bench: BenchModule = {
  title: 'handshake: full in-process handshakes vs the raw crypto of one handshake (T4)',
  async run(report) {
    const alice = await generateIdentity('ed25519');
    const bob = await generateIdentity('ed25519');
    const transport = await generateRsaOaepKeyPair();
    const fields = [randomBytes(32), randomBytes(48)];
    const sig = sign(bob.privateKey, SignatureDomains.handshakeResponse, fields);
    const salt = randomBytes(32);
    const secret = randomBytes(32);
    const peerEph = generateX25519KeyPair();

    // Raw CPU of one side: ephemeral keygen, agreement with the peer's raw key, HKDF, one
    // Ed25519 signature and one verification (each side signs once and verifies once).
    const rawX25519Side = (): void => {
      const eph = generateX25519KeyPair();
      const dh = x25519SharedSecret(eph.privateKey, peerEph.publicKeyRaw);
      hkdfSha256(dh, salt, Labels.handshake, 64);
      sign(alice.privateKey, SignatureDomains.handshakeResponse, fields);
      verify(bob.publicKey, SignatureDomains.handshakeResponse, fields, sig);
    };
    // RSA mode, both sides: one OAEP wrap and one unwrap instead of the X25519 steps, plus the
    // same signatures and HKDF on each side.
    const rawRsaBoth = (): void => {
      const wrapped = rsaWrapKey(transport.publicKey, secret, salt.subarray(0, 16));
      rsaUnwrapKey(transport.privateKey, wrapped, salt.subarray(0, 16));
      for (let i = 0; i < 2; i++) {
        hkdfSha256(secret, salt, Labels.handshake, 64);
        sign(alice.privateKey, SignatureDomains.handshakeResponse, fields);
        verify(bob.publicKey, SignatureDomains.handshakeResponse, fields, sig);
      }
    };
    // The protocol's crypto for both sides, x25519 suite, as the drivers call it.
    const protocolCrypto = (): void => {
      const ephI = generateX25519KeyPair();
      const offer = buildOffer({
        identity: alice,
        sid: randomBytes(16),
        nonce: randomBytes(32),
        ts: Date.now(),
        suites: ['x25519-aes256gcm'],
        to: bob.fingerprint,
        ephPublic: ephI.publicKeyRaw,
      });
      checkOffer(offer);
      const { accept, keys } = buildAccept({
        identity: bob,
        offer,
        suite: 'x25519-aes256gcm',
        ts: Date.now(),
        nonce: randomBytes(32),
        sak: randomBytes(32),
        eph: generateX25519KeyPair(),
      });
      const mine = checkAccept(offer, accept, { eph: ephI }).keys!;
      verifyConfirmMac(keys, 'i', confirmMac(mine, 'i').toString('base64url'));
      verifyConfirmMac(mine, 'r', confirmMac(keys, 'r').toString('base64url'));
    };

    // Wired as `createPeerSessions` wires them: pooled CSPRNG bytes, one ephemeral made ahead.
    const ephemerals = createEphemeralSource();
    const responder = createHandshakeResponder({
      identity: bob,
      acceptedSuites: ['x25519-aes256gcm', 'rsaoaep-aes256gcm'],
      replayCache: createReplayCache({ freshnessMs: 60_000, maxEntries: 1_000_000 }),
      pins: { get: () => 'none' },
      now: () => new Date(),
      random: pooledRandomBytes,
      ephemeral: ephemerals.take,
      spawnActor,
      maxClaimedStreams: 1_000_000,
    });
    const post = async (_url: string, path: string, body: unknown): Promise<PostResult> => {
      const answer = path.endsWith('/offer')
        ? await responder.handleOffer(body)
        : await responder.handleConfirm(body);
      if (!answer.ok) return { status: answer.status, body: answer };
      return { status: 200, body: 'accept' in answer ? answer.accept : answer.done };
    };
    const requesterDeps = {
      identity: alice,
      rsaTransportKey: transport,
      post,
      pins: { get: () => 'none' as const },
      now: () => new Date(),
      random: pooledRandomBytes,
      ephemeral: ephemerals.take,
      spawnActor,
    };
    const full = (suites: readonly HandshakeSuite[]) => async () => {
      const r = await initiateHandshake(requesterDeps, {
        url: 'http://bob',
        expectedPeerId: bob.fingerprint,
        suites,
      });
      if (!r.ok) throw new Error(`handshake failed: ${r.reason}`);
    };

    // Interleaved rounds, best window of each, so drift and noise hit ours and the baseline alike.
    const rawX: Rate[] = [];
    const rawR: Rate[] = [];
    const proto: Rate[] = [];
    const fullX: Rate[] = [];
    const fullR: Rate[] = [];
    for (let round = 0; round < 2; round++) {
      rawX.push(toRate(measureSync(rawX25519Side).opsPerSec / 2));
      proto.push(measureSync(protocolCrypto));
      fullX.push(await measureAsync(full(['x25519-aes256gcm']), { windowMs: 400 }));
      rawR.push(measureSync(rawRsaBoth));
      fullR.push(await measureAsync(full(['rsaoaep-aes256gcm']), { windowMs: 400 }));
    }
    const rawBoth = best(rawX);
    const hsCpu = rawBoth.usPerOp / 2;
    report(
      ratioRow(
        'handshake/raw',
        'raw crypto, both sides (x25519 + hkdf + sign + verify)',
        rawBoth,
        undefined,
        {
          note: `HS_cpu = ${hsCpu.toFixed(0)} µs per side`,
        },
      ),
    );
    report(
      ratioRow(
        'handshake/raw',
        'protocol §2 crypto, both sides (no actors, no codec)',
        best(proto),
        { name: '1/raw CPU both sides', rate: rawBoth },
        { note: 'informational: TH, SAS, 3 HKDFs, GCM, MACs per side beyond the raw primitives' },
      ),
    );
    report(
      ratioRow(
        'handshake/full',
        'ECDH (x25519-aes256gcm) handshakes, driver to driver',
        best(fullX),
        { name: '1/raw CPU both sides', rate: rawBoth },
        { minRatio: 0.5 },
      ),
    );
    report(
      ratioRow(
        'handshake/full',
        'RSA (rsaoaep-aes256gcm) handshakes, driver to driver',
        best(fullR),
        { name: '1/raw CPU both sides (rsa)', rate: best(rawR) },
        { minRatio: 0.5 },
      ),
    );

    // Key import on the hot path is a cache hit (JWK for ephemerals, LRU of KeyObjects for
    // identities): it must cost ≤ 5 % of HS_cpu, i.e. run ≥ 20× as often.
    const wire = exportPublicKey(alice);
    let sink: KeyObject | undefined;
    const importRate = measureSync(() => {
      sink = importPublicKey(wire).publicKey;
    });
    void sink;
    report(
      ratioRow(
        'handshake/keys',
        'identity key import (cache hit)',
        importRate,
        { name: '1/HS_cpu', rate: toRate(1e6 / hsCpu) },
        { minRatio: 20 },
      ),
    );
    responder.close();
    ephemerals.close();
  },
};

export default bench;
