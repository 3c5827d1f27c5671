/**
 * `conclave connect PEER_ID` / POST /api/peers/connect {peerId} tries each address discovery
 * knows for the peer in turn: one that is unreachable, or now answers with another identity, does
 * not stop it; the changed key is still what it reports when no address works.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import type { SpawnActor } from '../../src/actors/handshake/types.js';
import { createPeerRuntime } from '../../src/actors/peer-runtime.js';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import { startSessions } from '../../src/cli/serve-sessions.js';
import { buildAccept } from '../../src/crypto/handshake-accept.js';
import { generateIdentity, generateX25519KeyPair, type Identity } from '../../src/crypto/index.js';
import { createMemoryKeystore } from '../../src/keystore/memory-keystore.js';
import { decodeOffer } from '../../src/protocol/handshake.codec.js';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';
import { serveSessions } from '../support/session-api.js';

const spawnActor: SpawnActor = (machine, input) => createActor(machine, { input }).start() as never;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A loopback port nobody listens on. */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

/** Another peer's API at a stale address: answers any offer with `identity`'s accept. */
async function impostorUrl(identity: Identity): Promise<string> {
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const decoded = decodeOffer(JSON.parse(body));
      if (!decoded.ok) {
        res.writeHead(400).end();
        return;
      }
      const { accept } = buildAccept({
        identity,
        offer: decoded.value,
        suite: 'x25519-aes256gcm',
        ts: Date.now(),
        nonce: randomBytes(32),
        sak: randomBytes(32),
        eph: generateX25519KeyPair(),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(accept));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function bobServing() {
  const bob = await generateIdentity('ed25519');
  const bobSessions = createPeerSessions(
    { identity: bob, links: false },
    {
      spawnActor,
      pinState: () => 'none',
      onEstablished: () => undefined,
      onSecurityAlert: () => undefined,
    },
  );
  const bobApi = await serveSessions('bob', bob, bobSessions);
  cleanups.push(
    () => bobApi.close(),
    () => bobSessions.close(),
  );
  return { bob, url: bobApi.url };
}

/** Alice's sessions as `serve` wires them, with bob's beacon listing `urls`. */
async function aliceSeeing(bob: Identity, urls: string[]) {
  const alice = await generateIdentity('ed25519');
  const store = createMemoryEventStore();
  const runtime = createPeerRuntime(
    {
      peerId: alice.fingerprint,
      name: 'alice',
      fingerprint: alice.fingerprint,
      identityKind: 'ed25519',
      store: 'memory',
      version: 'test',
    },
    { store },
  );
  runtime.start();
  cleanups.push(() => runtime.stop('test'));
  const { sessions, services } = await startSessions({
    identity: alice,
    keystore: createMemoryKeystore(),
    runtime,
    store,
    logger: pino({ level: 'silent' }),
    links: false,
  });
  cleanups.push(() => sessions.close());
  runtime.discovered({
    type: 'peer.seen',
    peerId: bob.fingerprint,
    name: 'bob',
    kind: 'ed25519',
    urls,
    rooms: [],
    via: 'multicast',
    at: new Date().toISOString(),
  });
  return (peerId: string) => {
    const work = services.connect?.({ type: 'peer.connect', peerId });
    if (!work) throw new Error('no connect service');
    return work.catch((e: unknown) => e);
  };
}

describe('connect by peer id', () => {
  it('tries every address discovery knows for the peer', async () => {
    const { bob, url } = await bobServing();
    const connect = await aliceSeeing(bob, [await deadUrl(), url]);
    expect(await connect(bob.fingerprint.slice(0, 8))).toMatchObject({ peerId: bob.fingerprint });
  });

  it('goes on past an address where another identity answers', async () => {
    const { bob, url } = await bobServing();
    const carol = await generateIdentity('ed25519');
    const connect = await aliceSeeing(bob, [await impostorUrl(carol), url]);
    expect(await connect(bob.fingerprint)).toMatchObject({ peerId: bob.fingerprint });
  });

  it('reports the changed key when no address works', async () => {
    const bob = await generateIdentity('ed25519');
    const carol = await generateIdentity('ed25519');
    const connect = await aliceSeeing(bob, [await impostorUrl(carol), await deadUrl()]);
    expect(await connect(bob.fingerprint)).toMatchObject({
      code: 'ERR_HANDSHAKE_FAILED',
      details: { reason: 'key-changed' },
    });
  });
});
