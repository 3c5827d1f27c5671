/**
 * Connect by URL (no expected peer): a responder that refuses with reason `wrong-peer` and whose
 * hello names another id is a refusal, not a changed key — no `key-changed` report and no
 * security alert (no key was expected at all).
 */
import { createServer } from 'node:http';
import { afterEach, expect, it } from 'vitest';
import { createActor } from 'xstate';
import type { SpawnActor } from '../../src/actors/handshake/types.js';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import { exportPublicKey, generateIdentity } from '../../src/crypto/index.js';

const spawnActor: SpawnActor = (machine, input) => createActor(machine, { input }).start() as never;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('connect by URL: a wrong-peer refusal is not a changed key', async () => {
  const alice = await generateIdentity('ed25519');
  const carol = await generateIdentity('ed25519');
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          JSON.stringify({
            v: 1,
            peerId: carol.fingerprint,
            name: 'carol',
            identityKind: carol.kind,
            publicKey: exportPublicKey(carol),
            suites: [],
          }),
        );
      return;
    }
    req.resume();
    req.on('end', () =>
      res
        .writeHead(422, { 'content-type': 'application/problem+json' })
        .end(JSON.stringify({ code: 'ERR_HANDSHAKE_FAILED', reason: 'wrong-peer', detail: 'x' })),
    );
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
  const err = await sessions
    .connect({ url: `http://127.0.0.1:${port}`, expectedPeerId: null })
    .catch((e: unknown) => e);
  expect((err as { details?: { reason?: string } }).details?.reason).not.toBe('key-changed');
  expect(alerts).toEqual([]);
});
