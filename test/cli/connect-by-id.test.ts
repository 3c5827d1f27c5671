/**
 * `conclave connect PEER_ID` / POST /api/peers/connect {peerId} tries each address discovery
 * knows for the peer in turn: one that is unreachable, or now answers with another identity, does
 * not stop it; the changed key is still what it reports when no address works.
 */
import { createServer } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createPeerRuntime } from '../../src/actors/peer-runtime.js';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import { startSessions } from '../../src/cli/serve-sessions.js';
import { generateIdentity, type Identity } from '../../src/crypto/index.js';
import { createMemoryKeystore } from '../../src/keystore/memory-keystore.js';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';
import { impostorAt, spawnActor } from '../support/impostor.js';
import { serveSessions } from '../support/session-api.js';

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
    const connect = await aliceSeeing(bob, [await impostorAt(carol, cleanups), url]);
    expect(await connect(bob.fingerprint)).toMatchObject({ peerId: bob.fingerprint });
  });

  it('reports the changed key when no address works', async () => {
    const bob = await generateIdentity('ed25519');
    const carol = await generateIdentity('ed25519');
    const connect = await aliceSeeing(bob, [await impostorAt(carol, cleanups), await deadUrl()]);
    expect(await connect(bob.fingerprint)).toMatchObject({
      code: 'ERR_HANDSHAKE_FAILED',
      details: { reason: 'key-changed' },
    });
  });
});
