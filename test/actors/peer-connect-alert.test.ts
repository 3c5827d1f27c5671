/**
 * A responder that answers an offer addressed to B with another identity (ignoring `to`): the
 * requester refuses it (`key-changed`) and raises exactly one security event, of kind
 * `key-changed`, naming who answered.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import type { SpawnActor } from '../../src/actors/handshake/types.js';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import { buildAccept } from '../../src/crypto/handshake-accept.js';
import { generateIdentity, generateX25519KeyPair } from '../../src/crypto/index.js';
import { decodeOffer } from '../../src/protocol/handshake.codec.js';

const spawnActor: SpawnActor = (machine, input) => createActor(machine, { input }).start() as never;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('key-changed alert on the requester', () => {
  it('is raised once, with kind key-changed', async () => {
    const alice = await generateIdentity('ed25519');
    const bob = await generateIdentity('ed25519');
    const carol = await generateIdentity('ed25519');
    // carol's hostile peer API: answers any offer with a valid accept signed by carol
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const decoded = decodeOffer(JSON.parse(body));
        if (!decoded.ok) {
          res.writeHead(400).end();
          return;
        }
        const { accept } = buildAccept({
          identity: carol,
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
    const port = (server.address() as { port: number }).port;

    const alerts: Array<{ kind: string; peerId: string | null; detail: string }> = [];
    const sessions = createPeerSessions(
      { identity: alice, links: false },
      {
        spawnActor,
        pinState: () => 'none',
        onEstablished: () => undefined,
        onSecurityAlert: (kind, peerId, detail) => alerts.push({ kind, peerId, detail }),
      },
    );
    cleanups.push(() => sessions.close());
    await expect(
      sessions.connect({ url: `http://127.0.0.1:${port}`, expectedPeerId: bob.fingerprint }),
    ).rejects.toMatchObject({ code: 'ERR_HANDSHAKE_FAILED', details: { reason: 'key-changed' } });
    expect(alerts.map((a) => a.kind)).toEqual(['key-changed']);
    expect(alerts[0]).toMatchObject({ peerId: bob.fingerprint });
    expect(alerts[0]?.detail).toContain(carol.fingerprint);
  });
});
