/**
 * The peer API's fast path (src/transport/http/fast-routes.ts) answers exactly what its express
 * app answers: the same request sent plainly (fast path) and chunked (which only express takes)
 * gets the same status, content type and body, for good and bad input alike; anything unusual
 * goes to express; no input crashes the server or gets a 5xx that is not our bug. Which path
 * answered is observed, not assumed: every request carries an id, and the express fallback the
 * fast path is built with notes the ids it is handed.
 */
import { request as httpRequest, type RequestListener } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../src/errors.js';
import type * as FastRoutes from '../../src/transport/http/fast-routes.js';
import { testHello } from '../support/http.js';
import { listenHttp, type HttpListener } from '../../src/transport/http/http-server.js';
import { createPeerApi, type PortAnswer } from '../../src/transport/http/peer-api.js';

const { toExpress } = vi.hoisted(() => ({ toExpress: new Set<string>() }));

vi.mock('../../src/transport/http/fast-routes.js', async (importOriginal) => {
  const real = await importOriginal<typeof FastRoutes>();
  return {
    ...real,
    withFastRoutes: (fallback: RequestListener, ...rest: [never, never]) =>
      real.withFastRoutes(
        (req, res) => {
          const id = req.headers['x-probe'];
          if (typeof id === 'string') toExpress.add(id);
          fallback(req, res);
        },
        ...rest,
      ),
  };
});

interface Reply {
  status: number;
  type: string | undefined;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  /** Whether express answered (else the fast path did). */
  viaExpress: boolean;
}

let probes = 0;

const calls: Array<{ sid: string; body: unknown }> = [];
const unexpected: unknown[] = [];
let server: HttpListener;

/** What the session port answers, by the `n` in the body. */
function sessionAnswer(sid: string, body: unknown): Promise<PortAnswer> {
  calls.push({ sid, body });
  const n = (body as { n?: unknown } | null)?.n;
  if (n === 'app-error') return Promise.reject(new AppError('ERR_REPLAYED', 'seen that one'));
  if (n === 'bug') return Promise.reject(new Error('a bug'));
  if (n === 'refuse')
    return Promise.resolve({ ok: false, code: 'ERR_DECRYPT_FAILED', detail: 'nope', reason: 'r' });
  return Promise.resolve({ ok: true, status: n === 'created' ? 201 : 200, body: { sid, body } });
}

function send(
  path: string,
  body: string | Buffer | undefined,
  headers: Record<string, string> = {},
  options: { chunked?: boolean; method?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = typeof body === 'string' ? Buffer.from(body) : body;
    const probe = String(++probes);
    const h: Record<string, string> = {
      'content-type': 'application/json',
      'x-probe': probe,
      ...headers,
    };
    if (payload && !options.chunked && h['content-length'] === undefined)
      h['content-length'] = String(payload.length);
    const req = httpRequest(`${server.url}${path}`, {
      method: options.method ?? 'POST',
      headers: h,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers['content-type'],
          body: Buffer.concat(chunks).toString('utf8'),
          headers: res.headers,
          viaExpress: toExpress.has(probe),
        }),
      );
    });
    req.on('error', reject);
    if (payload && options.chunked) {
      // Two writes without a declared length: Transfer-Encoding: chunked, which only express takes.
      const mid = payload.length >> 1;
      req.write(payload.subarray(0, mid));
      req.end(payload.subarray(mid));
    } else req.end(payload);
  });
}

/** The same request through the fast path and through express. */
async function both(path: string, body: string, headers?: Record<string, string>) {
  const fast = await send(path, body, headers);
  const slow = await send(path, body, headers, { chunked: true });
  return { fast, slow };
}

const strip = (r: Reply) => ({ status: r.status, type: r.type, body: r.body });

beforeAll(async () => {
  server = await listenHttp(
    createPeerApi({
      hello: testHello,
      session: { request: (sid, body) => sessionAnswer(sid, body) },
      handshake: {
        offer: (body) => Promise.resolve({ ok: true, body: { offer: body } }),
        confirm: () =>
          Promise.resolve({ ok: false, code: 'ERR_HANDSHAKE_FAILED', detail: 'no', reason: 'x' }),
      },
      handshakeRatePerSec: 2,
      maxBodyBytes: 1024,
      onUnexpected: (err) => unexpected.push(err),
    }),
    { host: '127.0.0.1', port: 0 },
  );
});

afterAll(async () => {
  await server.close(100);
});

describe('peer API fast path', () => {
  const sid = 'abcdEFGH1234_-xy';

  it('answers a sealed request as express does, byte for byte', async () => {
    const body = JSON.stringify({ n: 1, ct: 'x'.repeat(40), nested: { a: [1, 2, 'é'] } });
    const { fast, slow } = await both(`/p2p/v1/session/${sid}`, body);
    expect(fast.viaExpress).toBe(false);
    expect(slow.viaExpress).toBe(true);
    expect(fast.status).toBe(200);
    expect(fast.type).toBe('application/json; charset=utf-8');
    expect(strip(fast)).toEqual(strip(slow));
    expect(fast.headers['content-length']).toBe(String(Buffer.byteLength(fast.body)));
    expect(fast.headers['x-powered-by']).toBeUndefined();
    expect(fast.headers.etag).toBeUndefined();
    expect(JSON.parse(fast.body)).toEqual({ sid, body: JSON.parse(body) });
  });

  it('keeps the status a port chose, and its problems with their reason', async () => {
    const created = await both(`/p2p/v1/session/${sid}`, '{"n":"created"}');
    expect(created.fast.status).toBe(201);
    expect(strip(created.fast)).toEqual(strip(created.slow));
    const refused = await both(`/p2p/v1/session/${sid}`, '{"n":"refuse"}');
    expect(refused.fast.status).toBe(422);
    expect(refused.fast.type).toBe('application/problem+json; charset=utf-8');
    expect(JSON.parse(refused.fast.body)).toMatchObject({
      code: 'ERR_DECRYPT_FAILED',
      reason: 'r',
    });
    expect(strip(refused.fast)).toEqual(strip(refused.slow));
  });

  it('answers thrown AppErrors with their code and bugs with ERR_INTERNAL, as express does', async () => {
    const known = await both(`/p2p/v1/session/${sid}`, '{"n":"app-error"}');
    expect(known.fast.status).toBe(409);
    expect(JSON.parse(known.fast.body)).toMatchObject({ code: 'ERR_REPLAYED' });
    expect(strip(known.fast)).toEqual(strip(known.slow));
    unexpected.length = 0;
    const bug = await both(`/p2p/v1/session/${sid}`, '{"n":"bug"}');
    expect(bug.fast.status).toBe(500);
    expect(JSON.parse(bug.fast.body)).toMatchObject({ code: 'ERR_INTERNAL' });
    expect(JSON.parse(bug.fast.body).detail).not.toContain('a bug');
    expect(strip(bug.fast)).toEqual(strip(bug.slow));
    expect(unexpected).toHaveLength(2); // once per path
  });

  it('refuses bodies that are not a JSON object or array with ERR_INVALID_JSON, as express does', async () => {
    for (const body of ['{"n":', 'nope', '123', '"text"', 'null', 'true', ' \n ']) {
      const { fast, slow } = await both(`/p2p/v1/session/${sid}`, body);
      expect(fast.status, body).toBe(400);
      expect(JSON.parse(fast.body), body).toMatchObject({ code: 'ERR_INVALID_JSON' });
      expect(strip(fast), body).toEqual(strip(slow));
    }
  });

  it('takes arrays and a leading BOM, as body-parser does', async () => {
    const arr = await both(`/p2p/v1/session/${sid}`, ' [1,2]');
    expect(arr.fast.status).toBe(200);
    expect(strip(arr.fast)).toEqual(strip(arr.slow));
    const bom = await both(`/p2p/v1/session/${sid}`, '\uFEFF{"n":2}');
    expect(bom.fast.status).toBe(200);
    expect(strip(bom.fast)).toEqual(strip(bom.slow));
  });

  it('refuses a bad session id with ERR_INVALID_MESSAGE and never calls the port', async () => {
    calls.length = 0;
    for (const bad of ['short', 'x'.repeat(65), 'has.dot.in.it!!']) {
      const { fast, slow } = await both(`/p2p/v1/session/${bad}`, '{"n":3}');
      // a parameter of other characters is express's to parse
      expect(fast.viaExpress, bad).toBe(bad.includes('.'));
      expect(fast.status, bad).toBe(400);
      expect(JSON.parse(fast.body)).toMatchObject({ code: 'ERR_INVALID_MESSAGE' });
      expect(strip(fast)).toEqual(strip(slow));
    }
    expect(calls).toHaveLength(0);
  });

  it('leaves every unusual request to express, which answers as before', async () => {
    const path = `/p2p/v1/session/${sid}`;
    // another media type, charset or encoding
    const text = await send(path, '{"n":1}', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(JSON.parse(text.body)).toMatchObject({ code: 'ERR_UNSUPPORTED_MEDIA_TYPE' });
    const latin = await send(path, '{"n":1}', {
      'content-type': 'application/json; charset=latin1',
    });
    expect(latin.status).toBe(415);
    const gz = await send(path, '{"n":1}', { 'content-encoding': 'gzip' });
    expect(gz.status).toBe(400); // express cannot inflate it: not gzip
    // declared too large: refused before reading
    const big = await send(path, `{"n":"${'x'.repeat(2000)}"}`);
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body)).toMatchObject({ code: 'ERR_BODY_TOO_LARGE' });
    // a %-escaped id is decoded by express ('%41' is 'A'), so it is served there
    calls.length = 0;
    const escaped = await send(`/p2p/v1/session/%41${sid.slice(1)}`, '{"n":4}');
    expect(escaped.status).toBe(200);
    expect(calls[0]?.sid).toBe(`A${sid.slice(1)}`);
    // casing, a trailing slash: express routing rules
    const upper = await send(`/P2P/v1/session/${sid}`, '{"n":5}');
    const slash = await send(`/p2p/v1/session/${sid}/`, '{"n":5}');
    expect([upper.status, slash.status]).toEqual([200, 200]);
    // other methods, an empty body
    const get = await send(path, undefined, {}, { method: 'GET' });
    expect(get.status).toBe(404);
    expect(JSON.parse(get.body)).toMatchObject({ code: 'ERR_NOT_FOUND' });
    const empty = await send(path, '', { 'content-length': '0' });
    expect(empty.status).toBe(200);
    for (const r of [text, latin, gz, big, escaped, upper, slash, get, empty])
      expect(r.viaExpress).toBe(true);
    // a query string is not part of the path: the fast path takes it
    const query = await send(`/p2p/v1/session/${sid}?x=1`, '{"n":5}');
    expect(query.status).toBe(200);
    expect(query.viaExpress).toBe(false);
  });

  it('serves the handshake routes, rate limit included, with Retry-After on the fast path', async () => {
    const offer = await both('/p2p/v1/handshake/offer', '{"type":"hs.offer"}');
    expect(offer.fast.viaExpress).toBe(false);
    expect(offer.fast.status).toBe(200);
    expect(strip(offer.fast)).toEqual(strip(offer.slow));
    const confirm = await send('/p2p/v1/handshake/confirm', '{"type":"hs.confirm"}');
    expect(confirm.status).toBe(422);
    expect(JSON.parse(confirm.body)).toMatchObject({ code: 'ERR_HANDSHAKE_FAILED', reason: 'x' });
    // 2/s with a burst of 4: the rest of this burst is refused
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => send('/p2p/v1/handshake/offer', '{"type":"hs.offer"}')),
    );
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    for (const a of limited) {
      expect(a.headers['retry-after']).toBe('1');
      expect(JSON.parse(a.body)).toMatchObject({ code: 'ERR_RATE_LIMITED' });
    }
  });

  it('answers arbitrary bodies and content types with 2xx or 4xx only, and keeps serving', async () => {
    unexpected.length = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.json({ maxDepth: 3 }),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
        ),
        fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'application/json;charset="UTF-8"',
          'Application/JSON',
          'application/json; charset=utf-16',
          'text/plain',
        ),
        fc.boolean(),
        async (body, type, isChunked) => {
          const r = await send(
            `/p2p/v1/session/${sid}`,
            Buffer.from(body, 'latin1'),
            { 'content-type': type },
            { chunked: isChunked },
          );
          expect(r.status).toBeGreaterThanOrEqual(200);
          expect(r.status).toBeLessThan(500);
        },
      ),
      { numRuns: 150 },
    );
    expect(unexpected).toHaveLength(0);
    const after = await send(`/p2p/v1/session/${sid}`, '{"n":6}');
    expect(after.status).toBe(200);
  });
});
