/**
 * Guards of the local API: loopback `Host` only (DNS rebinding), no foreign `Origin` (CSRF), and a
 * bearer token compared in constant time. Each failure is a problem+json with a stable code.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { sendProblem } from './problem.js';

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** `host[:port]` → lowercase host without port; brackets kept for IPv6. */
function hostnameOf(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end === -1 ? h : h.slice(0, end + 1);
  }
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

export function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  return LOOPBACK_NAMES.has(hostnameOf(hostHeader));
}

export const requireLoopbackHost: RequestHandler = (req, res, next) => {
  if (isLoopbackHost(req.headers.host)) {
    next();
    return;
  }
  sendProblem(
    res,
    'ERR_FORBIDDEN_HOST',
    'the local API answers only requests addressed to 127.0.0.1, localhost or [::1]',
  );
};

/**
 * Browsers send `Origin` on cross-site requests. Only pages served by this API itself (same
 * loopback host and port) may call it.
 */
export function requireSameOrigin(getPort: () => number): RequestHandler {
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin === undefined) {
      next();
      return;
    }
    let ok: boolean;
    try {
      const u = new URL(origin);
      const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
      ok = u.protocol === 'http:' && isLoopbackHost(u.host) && port === getPort();
    } catch {
      ok = false;
    }
    if (ok) {
      next();
      return;
    }
    sendProblem(res, 'ERR_FORBIDDEN_ORIGIN', 'cross-origin requests to the local API are refused');
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time token check (hashing first makes the lengths equal). */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined || presented.length === 0) return false;
  return timingSafeEqual(digest(expected), digest(presented));
}

export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

export function requireToken(token: string): RequestHandler {
  return (req, res, next) => {
    if (tokenMatches(token, bearerToken(req.headers.authorization))) {
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', 'Bearer realm="conclave"');
    sendProblem(
      res,
      'ERR_UNAUTHORIZED',
      'missing or wrong bearer token; it is in <data-dir>/api-token (send "Authorization: Bearer <token>")',
    );
  };
}

/** POST/PUT/PATCH bodies must be JSON (or empty). */
export const requireJsonBody: RequestHandler = (req, res, next) => {
  const hasBody =
    req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0';
  const isChunked = req.headers['transfer-encoding'] !== undefined;
  if (!['POST', 'PUT', 'PATCH'].includes(req.method) || (!hasBody && !isChunked)) {
    next();
    return;
  }
  if (req.is('application/json') || req.is('application/*+json')) {
    next();
    return;
  }
  sendProblem(res, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'send request bodies as application/json');
};

/** Refuse a declared body larger than `maxBytes` before reading any of it. */
export function limitDeclaredBody(maxBytes: number): RequestHandler {
  return (req, res, next) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (Number.isFinite(declared) && declared <= maxBytes) {
      next();
      return;
    }
    res.setHeader('Connection', 'close');
    sendProblem(res, 'ERR_BODY_TOO_LARGE', `request bodies are limited to ${maxBytes} bytes`);
  };
}
