/**
 * The LAN-facing peer API, versioned under `/p2p/v1`. Before a handshake only public facts are
 * served; the handshake itself is two signed exchanges; everything after it travels sealed.
 * Routes parse nothing themselves: bodies go to the ports below, which answer with a status and a
 * body (or a problem code). Handshakes are rate-limited per source address.
 */
import type { RequestListener } from 'node:http';
import express, { type Express, type Request } from 'express';
import type { ErrorCode } from '../../errors.js';
import type { PROTOCOL_VERSION } from '../../protocol/version.js';
import { createRateLimiter } from '../rate-limiter.js';
import { withFastRoutes, writeReply, type FastRoute, type RouteReply } from './fast-routes.js';
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
  /**
   * More express routes, registered before the peer API's own and behind the same guards and
   * body parser (benchmarks compare an unsealed POST on the same server with a sealed one).
   */
  readonly extraRoutes?: (app: Express) => void;
}

function sourceOf(req: Request): string {
  return req.socket.remoteAddress ?? 'unknown';
}

const SESSION_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** The POST routes: the hot ones, served by the fast path when it can and by express otherwise. */
function postRoutes(deps: PeerApiDeps): FastRoute[] {
  const routes: FastRoute[] = [];
  const session = deps.session;
  if (session) {
    routes.push({
      path: '/p2p/v1/session/',
      hasParam: true,
      run: (sid, body, source) =>
        SESSION_ID.test(sid)
          ? session.request(sid, body, source)
          : Promise.resolve({ ok: false, code: 'ERR_INVALID_MESSAGE', detail: 'bad session id' }),
    });
  }
  const handshake = deps.handshake;
  if (handshake) {
    const rate = deps.handshakeRatePerSec ?? 20;
    const limiter = createRateLimiter({ ratePerSec: rate, burst: rate * 2, maxKeys: 4096 });
    // When the next token comes back, in whole seconds.
    const retryAfter = String(Math.max(1, Math.ceil(1 / rate)));
    const limited =
      (fn: (body: unknown, source: string) => Promise<PortAnswer>) =>
      (_param: string, body: unknown, source: string): Promise<RouteReply> =>
        limiter.take(source, Date.now())
          ? fn(body, source)
          : Promise.resolve({
              ok: false,
              code: 'ERR_RATE_LIMITED',
              detail: 'too many handshakes from this address; slow down',
              headers: { 'Retry-After': retryAfter },
            });
    routes.push(
      { path: '/p2p/v1/handshake/offer', run: limited((b, s) => handshake.offer(b, s)) },
      { path: '/p2p/v1/handshake/confirm', run: limited((b, s) => handshake.confirm(b, s)) },
    );
  }
  return routes;
}

/**
 * The peer API as a request listener: the sealed session route and the handshake routes on the
 * fast path (fast-routes.ts) in front of an express app that serves everything, them included.
 */
export function createPeerApi(deps: PeerApiDeps): RequestListener {
  const app = express();
  const maxBody = deps.maxBodyBytes ?? 64 * 1024;
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(limitDeclaredBody(maxBody));
  app.use(requireJsonBody);
  app.use(express.json({ limit: maxBody, strict: true }));
  deps.extraRoutes?.(app);

  app.get('/p2p/v1/hello', (_req, res) => {
    res.json(deps.hello());
  });

  const routes = postRoutes(deps);
  for (const route of routes) {
    app.post(route.hasParam ? `${route.path}:param` : route.path, async (req, res) => {
      const param = (req.params as { param?: string }).param ?? '';
      writeReply(res, await route.run(param, req.body as unknown, sourceOf(req)));
    });
  }

  app.use(notFoundHandler);
  app.use(problemHandler({ onUnexpected: deps.onUnexpected }));
  return withFastRoutes(app, routes, { maxBodyBytes: maxBody, onUnexpected: deps.onUnexpected });
}
