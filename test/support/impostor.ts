/**
 * Hostile peer APIs for handshake tests, on loopback: a server that answers any offer with a
 * valid accept signed by another identity (a stale address another peer now has, or a responder
 * ignoring `to`), and a requester whose security alerts are recorded.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import { createActor } from 'xstate';
import type { SpawnActor } from '../../src/actors/handshake/types.js';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import { buildAccept } from '../../src/crypto/handshake-accept.js';
import { generateX25519KeyPair, type Identity } from '../../src/crypto/index.js';
import { decodeOffer } from '../../src/protocol/handshake.codec.js';

export const spawnActor: SpawnActor = (machine, input) =>
  createActor(machine, { input }).start() as never;

/** Serve `handler` on a loopback port; its URL. `cleanups` gets the close. */
export async function listenRaw(
  handler: RequestListener,
  cleanups: Array<() => unknown>,
): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** A valid accept signed by `identity` for the offer `body`, whatever it asked (undefined: no offer). */
export function acceptAs(identity: Identity, body: unknown) {
  const decoded = decodeOffer(body);
  if (!decoded.ok) return undefined;
  return buildAccept({
    identity,
    offer: decoded.value,
    suite: 'x25519-aes256gcm',
    ts: Date.now(),
    nonce: randomBytes(32),
    sak: randomBytes(32),
    eph: generateX25519KeyPair(),
  }).accept;
}

/** A peer API that answers any offer with a valid accept signed by `identity`. */
export function impostorAt(identity: Identity, cleanups: Array<() => unknown>): Promise<string> {
  return listenRaw((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const accept = acceptAs(identity, JSON.parse(body));
      if (accept === undefined) res.writeHead(400).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(accept));
    });
  }, cleanups);
}

/** A requester's sessions (no links) whose security alerts are kept in `alerts`. */
export function sessionsWithAlerts(identity: Identity, cleanups: Array<() => unknown>) {
  const alerts: Array<{ kind: string; peerId: string | null; detail: string }> = [];
  const sessions = createPeerSessions(
    { identity, links: false },
    {
      spawnActor,
      pinState: () => 'none',
      onEstablished: () => undefined,
      onSecurityAlert: (kind, peerId, detail) => alerts.push({ kind, peerId, detail }),
    },
  );
  cleanups.push(() => sessions.close());
  return { sessions, alerts };
}
