/**
 * The local API's guards for WebSocket upgrades (express never sees an upgrade): loopback `Host`,
 * no foreign `Origin`, and the token — as `?token=` (browsers cannot set headers on a WebSocket)
 * or `Authorization: Bearer`, compared in constant time. A refusal is a problem+json answer
 * written before any upgrade.
 *
 * @example
 * const refusal = checkLocalUpgrade(req, url, token, port, '/api/events/ws');
 * if (refusal) return refuseUpgrade(socket, ...refusal);
 */
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Observable, Subscription } from 'rxjs';
import { WebSocket, WebSocketServer } from 'ws';
import type { ErrorCode } from '../../errors.js';
import { bearerToken, isLoopbackHost, tokenMatches } from '../http/local-guards.js';
import { statusOf } from '../http/problem.js';
import { upgradeUrl } from './upgrade-target.js';

export function refuseUpgrade(socket: Duplex, code: ErrorCode, detail: string): void {
  const status = statusOf(code);
  const title = STATUS_CODES[status] ?? 'Error';
  const body = JSON.stringify({ type: `urn:conclave:error:${code}`, title, status, code, detail });
  // Node took its own error listener off the socket before `upgrade`: a reset while we answer
  // must not become an uncaught error.
  socket.on('error', () => undefined);
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      (status === 401 ? 'WWW-Authenticate: Bearer realm="conclave"\r\n' : '') +
      'Connection: close\r\n\r\n' +
      body,
  );
}

/** Only pages served by this API (loopback, same port, plain http) may open a socket. */
function isOwnOrigin(origin: string, port: number): boolean {
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' && isLoopbackHost(u.host) && Number(u.port || 80) === port;
  } catch {
    return false;
  }
}

/** Why an upgrade to `path` is refused, or undefined when it may proceed. */
export function checkLocalUpgrade(
  req: IncomingMessage,
  url: URL,
  token: string,
  port: number,
  path: string,
): [ErrorCode, string] | undefined {
  if (!isLoopbackHost(req.headers.host)) {
    return ['ERR_FORBIDDEN_HOST', 'the local API answers only requests to 127.0.0.1 or localhost'];
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !isOwnOrigin(origin, port)) {
    return ['ERR_FORBIDDEN_ORIGIN', 'cross-origin WebSockets to the local API are refused'];
  }
  const presented = url.searchParams.get('token') ?? bearerToken(req.headers.authorization);
  if (!tokenMatches(token, presented ?? undefined)) {
    return [
      'ERR_UNAUTHORIZED',
      `missing or wrong token: connect to ${path}?token=<token from <data-dir>/api-token>`,
    ];
  }
  return undefined;
}

/** WebSocket paths served on each local API server, in the order they were attached. */
const claims = new WeakMap<object, string[]>();

/** Serve `path` on `server`; release it when the socket server closes. */
export function claimUpgradePath(server: object, path: string): () => void {
  const list = claims.get(server) ?? [];
  list.push(path);
  claims.set(server, list);
  return () => {
    const i = list.indexOf(path);
    if (i >= 0) list.splice(i, 1);
  };
}

/**
 * For an upgrade to a path `path`'s handler does not serve: true when this handler should answer
 * 404 — nobody serves that path, and this handler is the first one attached (so one answers).
 */
export function shouldRefuseUnknown(server: object, path: string, requested: string): boolean {
  const list = claims.get(server) ?? [];
  return !list.includes(requested) && list[0] === path;
}

/** A listen-only feed socket server on one path of the local API server. */
export interface FeedSocketServer {
  /** Clients connected now. */
  readonly clients: number;
  /** Disconnect every client and stop answering upgrades. */
  close(): void;
}

/**
 * Serve `path` on `server` as a listen-only WebSocket feed: `admit` checks an upgrade and gives
 * the records to send (one JSON text frame each) or the refusal; what clients send is ignored,
 * frames are capped, and a client that falls behind by more than `maxBufferedBytes` is cut off.
 *
 * @example
 * attachFeedSocket(api.server, '/api/events/ws', (req, url) => checkLocalUpgrade(…) ?? feed$);
 */
export function attachFeedSocket(
  server: Server,
  path: string,
  admit: (req: IncomingMessage, url: URL) => [ErrorCode, string] | Observable<unknown>,
  maxBufferedBytes = 4 * 1024 * 1024,
): FeedSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4 * 1024,
    perMessageDeflate: false,
  });
  const subscriptions = new Set<Subscription>();

  const serve = (ws: WebSocket, records$: Observable<unknown>): void => {
    ws.on('error', () => undefined);
    ws.on('message', () => undefined);
    const sub = records$.subscribe({
      next(record) {
        if (ws.readyState !== WebSocket.OPEN) return;
        ws.send(JSON.stringify(record));
        if (ws.bufferedAmount > maxBufferedBytes) ws.terminate();
      },
      complete() {
        ws.close(1001, 'the peer is stopping');
      },
    });
    subscriptions.add(sub);
    ws.once('close', () => {
      sub.unsubscribe();
      subscriptions.delete(sub);
    });
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = upgradeUrl(req.url);
    if (url?.pathname !== path) {
      if (shouldRefuseUnknown(server, path, url?.pathname ?? ''))
        refuseUpgrade(socket, 'ERR_NOT_FOUND', 'no WebSocket here');
      return;
    }
    const admitted = admit(req, url);
    if (Array.isArray(admitted)) {
      refuseUpgrade(socket, ...admitted);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, admitted));
  };
  server.on('upgrade', onUpgrade);
  const release = claimUpgradePath(server, path);

  return {
    get clients() {
      return wss.clients.size;
    },
    close() {
      server.off('upgrade', onUpgrade);
      release();
      for (const sub of subscriptions) sub.unsubscribe();
      subscriptions.clear();
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
