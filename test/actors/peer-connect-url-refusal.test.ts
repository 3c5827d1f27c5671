/**
 * Connect by URL (no expected peer): a responder that refuses with reason `wrong-peer` and whose
 * hello names another id is a refusal, not a changed key — no `key-changed` report and no
 * security alert (no key was expected at all).
 */
import { afterEach, expect, it } from 'vitest';
import { exportPublicKey, generateIdentity } from '../../src/crypto/index.js';
import { listenRaw, sessionsWithAlerts } from '../support/impostor.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('connect by URL: a wrong-peer refusal is not a changed key', async () => {
  const alice = await generateIdentity('ed25519');
  const carol = await generateIdentity('ed25519');
  const url = await listenRaw((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
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
  }, cleanups);
  const { sessions, alerts } = sessionsWithAlerts(alice, cleanups);
  const err = await sessions.connect({ url, expectedPeerId: null }).catch((e: unknown) => e);
  expect((err as { details?: { reason?: string } }).details?.reason).not.toBe('key-changed');
  expect(alerts).toEqual([]);
});
