/**
 * The local API (127.0.0.1 only): what the CLI, scripts and curl talk to. Routes never touch
 * actors directly: commands go out on a request channel, reads come from injected ports.
 *
 * @example
 * const app = createLocalApi({ token, getPort: () => 7401, channel, log: store, health });
 */
import express, { type Express, type Request } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { EventStore, RecordedEvent } from '../../store/event-store.js';
import type { RequestChannel } from '../request-channel.js';
import {
  limitDeclaredBody,
  requireJsonBody,
  requireLoopbackHost,
  requireSameOrigin,
  requireToken,
} from './local-guards.js';
import { notFoundHandler, problemHandler } from './problem.js';
import { streamSse } from './sse.js';
import { createRoomsRouter, type RoomsPort } from './local-rooms-api.js';
import { inspectApi, inspectorPage, type InspectionSource } from './inspect-api.js';
import { filter, map, type Observable } from 'rxjs';

/** Requests the local API hands to the runtime (through the request channel). */
export type LocalRequest =
  | { readonly type: 'info.query' }
  | {
      readonly type: 'peer.connect';
      readonly url?: string;
      readonly peerId?: string;
      /** Handshake suites to offer, in preference order (default: all this peer can use). */
      readonly suites?: ReadonlyArray<'x25519-aes256gcm' | 'rsaoaep-aes256gcm'>;
    }
  | { readonly type: 'peer.ping'; readonly peerId: string; readonly via: 'request' | 'push' }
  | {
      readonly type: 'trust.set';
      readonly peerId: string;
      readonly change: 'verify' | 'unverify' | 'block';
      readonly fingerprint?: string;
    };

/** A public event on the local push feed (`GET /api/events`). */
export interface FeedEvent {
  readonly id: number;
  readonly type: string;
  readonly at: string;
  readonly data: unknown;
}

export interface HealthReport {
  readonly status: 'ok' | 'degraded' | 'stopping';
  readonly [fact: string]: unknown;
}

export interface LocalApiDeps {
  readonly token: string;
  /** The port the API listens on (known only after listen). */
  readonly getPort: () => number;
  readonly channel: RequestChannel<LocalRequest, unknown>;
  /** The push feed: buffered events after `afterId`, then live. */
  readonly feed: (afterId: number) => Observable<FeedEvent>;
  /** The event log; `firstPosition`/`retention` tell `GET /api/log` when a range was dropped. */
  readonly log: Pick<EventStore, 'readAll' | 'subscribe' | 'firstPosition' | 'retention'>;
  readonly health: () => HealthReport;
  /** Known peers, as `GET /api/peers` lists them. */
  readonly peers: () => readonly unknown[];
  readonly discoveryDiagnostics: () => unknown;
  /** Prometheus text for `GET /api/metrics`. */
  readonly metrics: () => string;
  /** The live actor tree (`GET /api/actors`). */
  readonly actors: () => unknown;
  /** Rooms (create, join, send, read …); undefined on a peer without rooms. */
  readonly rooms?: RoomsPort;
  /** Live inspection (`serve --inspect`); undefined when off. */
  readonly inspection?: InspectionSource | undefined;
  readonly onUnexpected: (err: unknown) => void;
  /** Default 64 KiB. */
  readonly maxBodyBytes?: number;
}

const LogQuery = z.object({
  stream: z.string().min(1).max(256).optional(),
  prefix: z.string().min(1).max(256).optional(),
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(5_000).default(500),
  follow: z.enum(['true', 'false', '1', '0']).optional(),
});

function parseQuery<T>(schema: z.ZodType<T>, req: Request): T {
  const r = schema.safeParse(req.query);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new AppError(
      'ERR_INVALID_ARGUMENT',
      `bad query parameter ${first?.path.join('.') ?? ''}: ${first?.message ?? 'invalid'}`,
    );
  }
  return r.data;
}

function wantsEventStream(req: Request): boolean {
  return (req.headers.accept ?? '').includes('text/event-stream');
}

export function createLocalApi(deps: LocalApiDeps): Express {
  const app = express();
  const maxBody = deps.maxBodyBytes ?? 64 * 1024;
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(requireLoopbackHost);
  app.use(requireSameOrigin(deps.getPort));
  app.get('/api/health', (_req, res) => {
    res.json(deps.health());
  });
  app.use(inspectorPage());
  app.use(requireToken(deps.token));
  app.use(limitDeclaredBody(maxBody));
  app.use(requireJsonBody);
  app.use(express.json({ limit: maxBody, strict: true }));
  app.use(inspectApi(deps.inspection));

  app.get('/api/info', async (_req, res) => {
    res.json(await deps.channel.request({ type: 'info.query' }));
  });

  app.get('/api/peers', (_req, res) => {
    res.json(deps.peers());
  });

  const VerifyBody = z
    .strictObject({ fingerprint: z.string().min(16).max(200).optional() })
    .optional();
  const PeerIdParam = z
    .string()
    .regex(/^[0-9a-f]{4,64}$/i, 'a peer id (hex) or a unique prefix of at least 4');
  const trustRoute =
    (change: 'verify' | 'unverify' | 'block') =>
    async (req: Request, res: express.Response): Promise<void> => {
      const peerId = PeerIdParam.safeParse(req.params.peerId);
      if (!peerId.success)
        throw new AppError(
          'ERR_INVALID_ARGUMENT',
          `peerId must be ${peerId.error.issues[0]?.message ?? 'hex'}`,
        );
      const body = VerifyBody.safeParse(req.body);
      if (!body.success)
        throw new AppError('ERR_INVALID_ARGUMENT', 'body must be {} or {"fingerprint": "…"}');
      const fingerprint = change === 'verify' ? body.data?.fingerprint : undefined;
      res.json(
        await deps.channel.request({
          type: 'trust.set',
          peerId: peerId.data.toLowerCase(),
          change,
          ...(fingerprint !== undefined ? { fingerprint } : {}),
        }),
      );
    };
  const Suites = z
    .array(z.enum(['x25519-aes256gcm', 'rsaoaep-aes256gcm']))
    .min(1)
    .max(2)
    .optional();
  const ConnectBody = z.union([
    z.strictObject({
      url: z.string().url('must be a peer URL like http://10.0.0.5:7400').max(200),
      suites: Suites,
    }),
    z.strictObject({
      peerId: z.string().regex(/^[0-9a-f]{4,64}$/i, 'a peer id or a unique prefix'),
      suites: Suites,
    }),
  ]);
  app.post('/api/peers/connect', async (req, res) => {
    const body = ConnectBody.safeParse(req.body);
    if (!body.success)
      throw new AppError(
        'ERR_INVALID_ARGUMENT',
        'body must be {"url": "http://host:port"} or {"peerId": "…"}',
      );
    const { suites, ...target } = body.data;
    res.json(
      await deps.channel.request(
        { type: 'peer.connect', ...target, ...(suites !== undefined ? { suites } : {}) },
        { timeoutMs: 30_000 },
      ),
    );
  });
  app.post('/api/peers/:peerId/ping', async (req, res) => {
    const peerId = PeerIdParam.safeParse(req.params.peerId);
    if (!peerId.success) throw new AppError('ERR_INVALID_ARGUMENT', 'peerId must be hex');
    const asked = req.query.via ?? 'request';
    if (asked !== 'push' && asked !== 'request')
      throw new AppError('ERR_INVALID_ARGUMENT', 'via must be push or request (e.g. ?via=push)');
    const via = asked;
    res.json(
      await deps.channel.request(
        { type: 'peer.ping', peerId: peerId.data.toLowerCase(), via },
        { timeoutMs: 15_000 },
      ),
    );
  });
  app.post('/api/peers/:peerId/verify', trustRoute('verify'));
  app.delete('/api/peers/:peerId/verify', trustRoute('unverify'));
  app.post('/api/peers/:peerId/block', trustRoute('block'));

  app.get('/api/events', (req, res) => {
    const lastEventId = Number(req.headers['last-event-id'] ?? req.query.after ?? 0);
    const after = Number.isInteger(lastEventId) && lastEventId >= 0 ? lastEventId : 0;
    streamSse(
      req,
      res,
      deps.feed(after).pipe(
        map((e) => ({
          id: String(e.id),
          event: e.type,
          data: { at: e.at, ...(e.data as object) },
        })),
      ),
    );
  });

  app.get('/api/metrics', (_req, res) => {
    res.type('text/plain; version=0.0.4; charset=utf-8').send(deps.metrics());
  });

  app.get('/api/actors', (_req, res) => {
    res.json(deps.actors());
  });

  app.get('/api/diagnostics/discovery', (_req, res) => {
    res.json(deps.discoveryDiagnostics());
  });

  app.get('/api/log', async (req, res) => {
    const q = parseQuery(LogQuery, req);
    const matches = (e: RecordedEvent): boolean => q.stream === undefined || e.stream === q.stream;
    const prefix = q.stream ?? q.prefix;
    if (wantsEventStream(req) || q.follow === 'true' || q.follow === '1') {
      const lastEventId = Number(req.headers['last-event-id'] ?? Number.NaN);
      const after = Number.isInteger(lastEventId) && lastEventId >= 0 ? lastEventId : q.after;
      const items$ = deps.log
        .subscribe({ after, ...(prefix !== undefined ? { streamPrefix: prefix } : {}) })
        .pipe(
          filter(matches),
          map((e) => ({ id: String(e.position), event: 'log', data: e })),
        );
      streamSse(req, res, items$);
      return;
    }
    const [scanned, first] = await Promise.all([
      deps.log.readAll({
        after: q.after,
        limit: q.limit,
        ...(prefix !== undefined ? { streamPrefix: prefix } : {}),
      }),
      deps.log.firstPosition(),
    ]);
    // A bounded memory log dropped part of the range asked for: say so (additive fields).
    const retainBytes = deps.log.retention?.().retainBytes ?? 0;
    const dropped =
      first > q.after + 1
        ? { dropped: true, firstPosition: first, ...(retainBytes > 0 ? { retainBytes } : {}) }
        : {};
    // `scannedTo` lets a client page on even when an exact-stream filter dropped entries.
    res.json({
      entries: scanned.filter(matches),
      scannedTo: scanned.at(-1)?.position ?? q.after,
      ...dropped,
    });
  });

  if (deps.rooms) app.use(createRoomsRouter(deps.rooms));

  app.use(notFoundHandler);
  app.use(problemHandler({ onUnexpected: deps.onUnexpected }));
  return app;
}
