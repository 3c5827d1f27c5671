/**
 * The LAN-facing peer API, versioned under `/p2p/v1`. Before a handshake only public facts are
 * served; the handshake itself is two signed exchanges; everything after it travels sealed.
 * Routes parse nothing themselves: bodies go to the ports below, which answer with a status and a
 * body (or a problem code). Handshakes are rate-limited per source address.
 */
import express, { type Express, type Request, type Response } from 'express';
import type { ErrorCode } from '../../errors.js';
import type { PROTOCOL_VERSION } from '../../protocol/version.js';
import { createRateLimiter } from '../rate-limiter.js';
import { limitDeclaredBody, requireJsonBody } from './local-guards.js';
import { notFoundHandler, problemHandler, sendProblem } from './problem.js';

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

/** What a port answers: a JSON body, or a problem with a stable code. */
export type PortAnswer =
  | { readonly ok: true; readonly status?: number; readonly body: unknown }
  | {
      readonly ok: false;
      readonly code: ErrorCode;
      readonly detail: string;
      readonly reason?: string;
    };

export interface HandshakePort {
  offer(body: unknown, source: string): Promise<PortAnswer>;
  confirm(body: unknown, source: string): Promise<PortAnswer>;
}

export interface SessionPort {
  /** One sealed request on session `sid`; the answer body is the sealed response. */
  request(sid: string, body: unknown, source: string): Promise<PortAnswer>;
}

export interface PeerApiDeps {
  readonly hello: () => PeerHello;
  readonly handshake?: HandshakePort;
  readonly session?: SessionPort;
  readonly onUnexpected: (err: unknown) => void;
  readonly maxBodyBytes?: number;
  /** Handshake attempts per source address (default 20/s, burst 40). */
  readonly handshakeRatePerSec?: number;
}

function sourceOf(req: Request): string {
  return req.socket.remoteAddress ?? 'unknown';
}

function answer(res: Response, a: PortAnswer): void {
  if (a.ok) {
    res.status(a.status ?? 200).json(a.body);
    return;
  }
  sendProblem(res, a.code, a.detail, a.reason !== undefined ? { reason: a.reason } : undefined);
}

export function createPeerApi(deps: PeerApiDeps): Express {
  const app = express();
  const maxBody = deps.maxBodyBytes ?? 64 * 1024;
  const rate = deps.handshakeRatePerSec ?? 20;
  const limiter = createRateLimiter({ ratePerSec: rate, burst: rate * 2, maxKeys: 4096 });
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(limitDeclaredBody(maxBody));
  app.use(requireJsonBody);
  app.use(express.json({ limit: maxBody, strict: true }));

  app.get('/p2p/v1/hello', (_req, res) => {
    res.json(deps.hello());
  });

  const handshake = deps.handshake;
  if (handshake) {
    const limited =
      (fn: (body: unknown, source: string) => Promise<PortAnswer>) =>
      async (req: Request, res: Response): Promise<void> => {
        const source = sourceOf(req);
        if (!limiter.take(source, Date.now())) {
          res.setHeader('Retry-After', '1');
          sendProblem(res, 'ERR_RATE_LIMITED', 'too many handshakes from this address; slow down');
          return;
        }
        answer(res, await fn(req.body as unknown, source));
      };
    app.post(
      '/p2p/v1/handshake/offer',
      limited((b, s) => handshake.offer(b, s)),
    );
    app.post(
      '/p2p/v1/handshake/confirm',
      limited((b, s) => handshake.confirm(b, s)),
    );
  }

  const session = deps.session;
  if (session) {
    app.post('/p2p/v1/session/:sid', async (req, res) => {
      const sid = req.params.sid ?? '';
      if (!/^[A-Za-z0-9_-]{8,64}$/.test(sid)) {
        sendProblem(res, 'ERR_INVALID_MESSAGE', 'bad session id');
        return;
      }
      answer(res, await session.request(sid, req.body as unknown, sourceOf(req)));
    });
  }

  app.use(notFoundHandler);
  app.use(problemHandler({ onUnexpected: deps.onUnexpected }));
  return app;
}
