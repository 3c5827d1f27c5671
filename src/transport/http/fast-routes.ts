/**
 * The peer API's hot POST routes (sealed session requests, handshakes) served on `node:http`
 * directly, in front of express. Express 5 spends about as much server CPU on one small JSON POST
 * as the whole sealed exchange costs (router, body-parser, `res.json`; perf-ceilings §3.7, T7),
 * so the data plane of HTTP skips it.
 *
 * Only the plain case is taken: `POST` to a route's exact path, `Content-Type: application/json`
 * (at most a `charset=utf-8` parameter), a declared `Content-Length` between 1 and the limit, no
 * `Content-Encoding`, no `Transfer-Encoding`, a route parameter without `%`. Every other request —
 * another casing, a trailing slash, chunked or compressed bodies, other charsets, oversized
 * declarations, other methods — goes to express untouched, which answers it exactly as before.
 * Answers are the bytes express would send: the same JSON, the same `application/problem+json`
 * problems with the same codes (`ERR_INVALID_JSON` for a body that is not a JSON object or array).
 *
 * @example
 * const handler = withFastRoutes(expressApp, [{ path: '/p2p/v1/ping', run: async () => reply }], {
 *   maxBodyBytes: 65_536,
 *   onUnexpected: (err) => logger.error({ err }),
 * });
 * await listenHttp(handler, { host: '127.0.0.1', port: 0 });
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { AppError, type ErrorCode } from '../../errors.js';
import { problemOf, problemOfError } from './problem.js';

/** What a route answers: a JSON body, or a problem with a stable code; headers to add. */
export type RouteReply =
  | {
      readonly ok: true;
      readonly status?: number;
      readonly body: unknown;
      readonly headers?: Readonly<Record<string, string>>;
    }
  | {
      readonly ok: false;
      readonly code: ErrorCode;
      readonly detail: string;
      readonly reason?: string;
      readonly headers?: Readonly<Record<string, string>>;
    };

export interface FastRoute {
  /** The exact path; with `hasParam`, the prefix before one path segment (e.g. `/x/`). */
  readonly path: string;
  readonly hasParam?: boolean;
  run(param: string, body: unknown, source: string): Promise<RouteReply>;
}

export interface FastRoutesOptions {
  readonly maxBodyBytes: number;
  /** Errors that are not AppErrors (our bugs); the client gets `ERR_INTERNAL`. */
  readonly onUnexpected: (err: unknown) => void;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';
/** What body-parser's strict mode accepts as the first character: an object or an array. */
const FIRST_CHAR = /^[ \t\n\r]*(.)/s;

function write(
  res: ServerResponse,
  status: number,
  type: string,
  text: string,
  headers?: Readonly<Record<string, string>>,
): void {
  if (res.headersSent) return;
  if (headers) for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** Write a reply as express's `res.status().json()` or `sendProblem` would. */
export function writeReply(res: ServerResponse, reply: RouteReply): void {
  if (reply.ok) {
    write(res, reply.status ?? 200, JSON_TYPE, JSON.stringify(reply.body), reply.headers);
    return;
  }
  const extra = reply.reason !== undefined ? { reason: reply.reason } : undefined;
  const p = problemOf(reply.code, reply.detail, extra);
  write(res, p.status, PROBLEM_TYPE, p.text, reply.headers);
}

/** The media type as express reads it: spaces and tabs around it only (not `trim()`'s NBSP). */
const MEDIA = /^[ \t]*application\/json[ \t]*$/i;
const UTF8_PARAM = /^[ \t]*charset[ \t]*=[ \t]*"?utf-8"?[ \t]*$/i;
/** A route parameter the fast path takes; anything else (`%`, `#`, `\\`, …) is express's to parse. */
const PLAIN_PARAM = /^[A-Za-z0-9_-]+$/;

/** `application/json`, optionally with `charset=utf-8`: the only content type taken here. */
function isPlainJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [media, ...params] = contentType.split(';');
  return media !== undefined && MEDIA.test(media) && params.every((p) => UTF8_PARAM.test(p));
}

/** The route and its parameter when the fast path may take this request, else undefined. */
function routeOf(
  req: IncomingMessage,
  routes: readonly FastRoute[],
  maxBodyBytes: number,
): { route: FastRoute; param: string; length: number } | undefined {
  if (req.method !== 'POST') return undefined;
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined) return undefined;
  const encoding = h['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return undefined;
  if (!isPlainJson(h['content-type'])) return undefined;
  const length = Number(h['content-length']);
  if (!Number.isInteger(length) || length < 1 || length > maxBodyBytes) return undefined;
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  for (const route of routes) {
    if (!route.hasParam) {
      if (path === route.path) return { route, param: '', length };
      continue;
    }
    if (!path.startsWith(route.path)) continue;
    const param = path.slice(route.path.length);
    return PLAIN_PARAM.test(param) ? { route, param, length } : undefined;
  }
  return undefined;
}

function parseBody(buf: Buffer): unknown {
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // body-parser drops a BOM too
  if (text.length === 0) return {}; // …and reads an empty body as {}
  const first = FIRST_CHAR.exec(text)?.[1];
  if (first !== '{' && first !== '[')
    throw new AppError('ERR_INVALID_JSON', 'the request body is not valid JSON');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AppError('ERR_INVALID_JSON', 'the request body is not valid JSON');
  }
}

/** Answer an error as express's `problemHandler` does; the client is answered even if logging throws. */
function fail(res: ServerResponse, err: unknown, onUnexpected: (err: unknown) => void): void {
  const p = problemOfError(err);
  try {
    if (p.isBug) onUnexpected(err);
  } finally {
    write(res, p.status, PROBLEM_TYPE, p.text);
  }
}

/** Run a route and answer; whatever throws (the route, the reply, the logger) never escapes. */
async function serve(
  res: ServerResponse,
  run: () => Promise<RouteReply>,
  onUnexpected: (err: unknown) => void,
): Promise<void> {
  try {
    writeReply(res, await run());
  } catch (err) {
    try {
      fail(res, err, onUnexpected);
    } catch {
      res.destroy(); // the logger threw too: cut the request rather than the peer
    }
  }
}

/** `fallback` (express) with the plain case of `routes` served before it. */
export function withFastRoutes(
  fallback: RequestListener,
  routes: readonly FastRoute[],
  options: FastRoutesOptions,
): RequestListener {
  return (req, res) => {
    const hit = routeOf(req, routes, options.maxBodyBytes);
    if (!hit) {
      fallback(req, res);
      return;
    }
    // Kept as it arrives (what raw-body does): a declared length holds no memory until sent.
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
    });
    req.on('error', () => undefined); // aborted: nobody is left to answer
    req.on('end', () => {
      const source = req.socket.remoteAddress ?? 'unknown';
      // The parser frames the body by Content-Length: `end` comes with exactly that many bytes.
      const body = Buffer.concat(chunks, received);
      void serve(
        res,
        () => hit.route.run(hit.param, parseBody(body), source),
        options.onUnexpected,
      );
    });
  };
}
