/**
 * Live inspection on the local API (`conclave serve --inspect`):
 *
 * - `GET /inspect/`: the bundled inspector page (static HTML, JS and CSS from `inspector-page/`;
 *   no data in it, so it needs no token). It reads the token from its URL fragment (`#token=…`,
 *   never sent to the server) and calls the API with `Authorization: Bearer`, streaming the SSE
 *   route below with `fetch`, so no route has to accept a token in its URL.
 * - `GET /api/inspect`: whether inspection is on, and its counters.
 * - `GET /api/inspect/events`: SSE of the sanitized inspection records.
 *
 * Without `--inspect` the API routes answer 404 `ERR_INSPECT_OFF`; the page says the same.
 *
 * @example
 * app.use(inspectorPage());               // before the token guard
 * app.use(requireToken(token));
 * app.use(inspectApi(runtime.inspection)); // undefined when --inspect is off
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type RequestHandler } from 'express';
import { map, type Observable } from 'rxjs';
import type { InspectionRecord } from '../../protocol/inspection.types.js';
import { sendProblem } from './problem.js';
import { streamSse } from './sse.js';

/** What the inspection routes read: the runtime's inspection feed. */
export interface InspectionSource {
  events$(): Observable<InspectionRecord>;
  /** Counters shown by `GET /api/inspect`. */
  stats(): object;
}

export const INSPECTOR_PATH = '/inspect/';
export const INSPECT_EVENTS_PATH = '/api/inspect/events';
export const INSPECT_WS_PATH = '/api/inspect/ws';

export const INSPECT_OFF_DETAIL =
  'live inspection is off on this peer: start the peer with --inspect (or CONCLAVE_INSPECT=1)';

/** The inspector page's folder: beside this module (source), else in the repository's `src`. */
export function inspectorPageDir(): string | undefined {
  const here = fileURLToPath(new URL('.', import.meta.url));
  // `npm run build` copies the whole page beside the built module; a build made with bare `tsc`
  // has only its scripts, and then the page comes from the source tree it was made from.
  const candidates = [
    join(here, 'inspector-page'),
    resolve(here, '..', '..', '..', 'src', 'transport', 'http', 'inspector-page'),
  ];
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const pageHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', PAGE_CSP);
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cache-Control', 'no-cache');
  next();
};

/** `GET /inspect/`: the static inspector page (mount before the token guard: it holds no data). */
export function inspectorPage(dir: string | undefined = inspectorPageDir()): Router {
  const router = Router();
  if (dir === undefined) return router;
  router.use(
    '/inspect',
    pageHeaders,
    express.static(dir, {
      index: 'index.html',
      redirect: true,
      dotfiles: 'ignore',
      etag: false,
      lastModified: false,
      extensions: false,
    }),
  );
  return router;
}

/** `GET /api/inspect` and `GET /api/inspect/events` (mount after the token guard). */
export function inspectApi(source: InspectionSource | undefined): Router {
  const router = Router();
  const off: RequestHandler = (_req, res) =>
    sendProblem(res, 'ERR_INSPECT_OFF', INSPECT_OFF_DETAIL);
  if (source === undefined) {
    router.get(['/api/inspect', '/api/inspect/events'], off);
    return router;
  }
  router.get('/api/inspect', (_req, res) => {
    res.json({
      status: 'on',
      viewerPath: INSPECTOR_PATH,
      eventsPath: INSPECT_EVENTS_PATH,
      wsPath: INSPECT_WS_PATH,
      ...source.stats(),
    });
  });
  router.get(INSPECT_EVENTS_PATH, (req, res) => {
    streamSse(
      req,
      res,
      source.events$().pipe(map((record) => ({ id: record.id, event: record.type, data: record }))),
      // The first burst replays live actors (with their definitions) and the buffer.
      { maxBufferedBytes: 8 * 1024 * 1024 },
    );
  });
  return router;
}
