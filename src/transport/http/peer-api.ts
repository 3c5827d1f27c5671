/**
 * The LAN-facing peer API, versioned under `/p2p/v1`. Before a handshake only public facts are
 * served; everything after the handshake travels sealed (see the session protocol).
 */
import express, { type Express } from 'express';
import type { PROTOCOL_VERSION } from '../../protocol/version.js';
import { limitDeclaredBody, requireJsonBody } from './local-guards.js';
import { notFoundHandler, problemHandler } from './problem.js';

/** Public identity of this peer, as served to anyone on the LAN. */
export interface PeerHello {
  readonly v: typeof PROTOCOL_VERSION;
  readonly peerId: string;
  readonly name: string;
  readonly identityKind: 'ed25519' | 'rsa';
  /** SPKI DER of the identity key, base64url. */
  readonly publicKey: string;
  readonly suites: readonly string[];
}

export interface PeerApiDeps {
  readonly hello: () => PeerHello;
  readonly onUnexpected: (err: unknown) => void;
  readonly maxBodyBytes?: number;
}

export function createPeerApi(deps: PeerApiDeps): Express {
  const app = express();
  const maxBody = deps.maxBodyBytes ?? 64 * 1024;
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(limitDeclaredBody(maxBody));
  app.use(requireJsonBody);
  app.use(express.json({ limit: maxBody, strict: true }));
  app.get('/p2p/v1/hello', (_req, res) => {
    res.json(deps.hello());
  });
  app.use(notFoundHandler);
  app.use(problemHandler({ onUnexpected: deps.onUnexpected }));
  return app;
}
