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
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../../errors.js';
import { bearerToken, isLoopbackHost, tokenMatches } from '../http/local-guards.js';
import { statusOf } from '../http/problem.js';

export function refuseUpgrade(socket: Duplex, code: ErrorCode, detail: string): void {
  const status = statusOf(code);
  const title = STATUS_CODES[status] ?? 'Error';
  const body = JSON.stringify({ type: `urn:conclave:error:${code}`, title, status, code, detail });
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
