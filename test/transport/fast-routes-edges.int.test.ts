/**
 * Edges of the peer API's fast path (src/transport/http/fast-routes.ts), each once a difference
 * found in review: request targets, media types and bodies the fast path must answer exactly as
 * express does; failures (a port that throws, an answer that cannot be written) that must stay a
 * 500 for that request, never an uncaught error that ends the peer; and a declared length that
 * must not reserve memory before the body arrives. Each test sends raw bytes, so headers and
 * request targets arrive exactly as written; the same request sent chunked goes only to express.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testHello } from '../support/http.js';
import { listenHttp, type HttpListener } from '../../src/transport/http/http-server.js';
import {
  createPeerApi,
  type PeerApiDeps,
  type PortAnswer,
} from '../../src/transport/http/peer-api.js';

const SID = 'abcdEFGH1234';
const servers: HttpListener[] = [];

async function start(session: PeerApiDeps['session'], maxBodyBytes = 1024): Promise<HttpListener> {
  const s = await listenHttp(
    createPeerApi({
      hello: testHello,
      ...(session ? { session } : {}),
      maxBodyBytes,
      onUnexpected: () => undefined,
    }),
    { host: '127.0.0.1', port: 0 },
  );
  servers.push(s);
  return s;
}

/** Raw request bytes (latin1), the whole answer as text; '' when nothing came back in time. */
function raw(server: HttpListener, data: string, waitMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = (): void => resolve(Buffer.concat(chunks).toString('latin1'));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    s.write(Buffer.from(data, 'latin1'));
    const t = setTimeout(() => {
      s.destroy();
      done();
    }, waitMs);
    s.on('close', () => {
      clearTimeout(t);
      done();
    });
  });
}

/** Status line and body, without the Date header. */
function answer(text: string): { status: string; body: string } {
  const [head = '', body = ''] = text.split('\r\n\r\n');
  return { status: head.split('\r\n')[0] ?? '', body };
}

/** The request with Content-Length (fast path) and chunked (express only). */
async function both(server: HttpListener, path: string, contentType: string, body: string) {
  const len = Buffer.byteLength(body, 'latin1');
  const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: ${contentType}\r\n`;
  const fast = await raw(server, `${head}Content-Length: ${len}\r\n\r\n${body}`);
  const slow = await raw(
    server,
    `${head}Transfer-Encoding: chunked\r\n\r\n${len.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
  );
  return { fast: answer(fast), slow: answer(slow) };
}

const echo: PeerApiDeps['session'] = {
  request: (sid, body): Promise<PortAnswer> => Promise.resolve({ ok: true, body: { sid, body } }),
};

let plain: HttpListener;
beforeAll(async () => {
  plain = await start(echo);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close(100)));
});

describe('fast path answers as express does', () => {
  it('a request target with a fragment (express routes on the path before "#")', async () => {
    const { fast, slow } = await both(
      plain,
      `/p2p/v1/session/${SID}#x`,
      'application/json',
      '{"a":1}',
    );
    expect(slow.status).toBe('HTTP/1.1 200 OK');
    // fast path: param "abcdEFGH1234#x" → 400 ERR_INVALID_MESSAGE "bad session id"
    expect(fast).toEqual(slow);
  });

  it('a Content-Type with a no-break space (0xA0) around the media type', async () => {
    for (const type of ['application/json\xa0', '\xa0application/json']) {
      const { fast, slow } = await both(plain, `/p2p/v1/session/${SID}`, type, '{"a":1}');
      expect(slow.status, JSON.stringify(type)).toMatch(/^HTTP\/1\.1 415 /);
      // fast path: String.prototype.trim() drops U+00A0, so it answers 200
      expect(fast, JSON.stringify(type)).toEqual(slow);
    }
  });

  it('a body that is only a UTF-8 BOM (body-parser: empty after the BOM → {})', async () => {
    const { fast, slow } = await both(
      plain,
      `/p2p/v1/session/${SID}`,
      'application/json',
      '\xef\xbb\xbf',
    );
    expect(slow.status).toBe('HTTP/1.1 200 OK');
    // fast path: 400 ERR_INVALID_JSON
    expect(fast).toEqual(slow);
  });
});

describe('fast path failures stay inside the request', () => {
  /** Run `fn` with the process-level error events captured instead of reported. */
  async function capturing<T>(fn: () => Promise<T>): Promise<{ value: T; errors: unknown[] }> {
    const errors: unknown[] = [];
    const saved = {
      exc: process.listeners('uncaughtException'),
      rej: process.listeners('unhandledRejection'),
    };
    const onError = (e: unknown): void => {
      errors.push(e);
    };
    process.removeAllListeners('uncaughtException');
    process.removeAllListeners('unhandledRejection');
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
    try {
      const value = await fn();
      await new Promise((r) => setTimeout(r, 50));
      return { value, errors };
    } finally {
      process.removeAllListeners('uncaughtException');
      process.removeAllListeners('unhandledRejection');
      for (const l of saved.exc) process.on('uncaughtException', l);
      for (const l of saved.rej) process.on('unhandledRejection', l);
    }
  }

  const cases: Array<[string, PeerApiDeps['session']]> = [
    [
      'a port that throws synchronously',
      {
        request: () => {
          throw new Error('sync bug');
        },
      },
    ],
    [
      'a port answer JSON.stringify cannot write (undefined body)',
      { request: () => Promise.resolve({ ok: true, body: undefined }) },
    ],
  ];
  for (const [name, session] of cases) {
    it(`${name}: 500 ERR_INTERNAL as in express, no uncaught error`, async () => {
      const server = await start(session);
      const { value, errors } = await capturing(() =>
        both(server, `/p2p/v1/session/${SID}`, 'application/json', '{"a":1}'),
      );
      expect(value.slow.status).toMatch(/^HTTP\/1\.1 500 /);
      // fast path: no answer at all (the client waits for the request timeout) and an
      // uncaught exception / unhandled rejection, which ends a Node 20 process by default
      expect(errors.map(String)).toEqual([]);
      expect(value.fast).toEqual(value.slow);
    });
  }
});

describe('fast path memory', () => {
  it('does not reserve the declared length before the body arrives', async () => {
    const server = await start(echo, 64 * 1024);
    const before = process.memoryUsage().arrayBuffers;
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 200; i++) {
      const s = net.connect(server.port, '127.0.0.1');
      s.on('error', () => undefined);
      // ~130 bytes sent, 64 KiB declared; the connection is held open (requestTimeout 30 s)
      s.write(
        `POST /p2p/v1/session/${SID} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 65536\r\n\r\n{`,
      );
      sockets.push(s);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const grown = process.memoryUsage().arrayBuffers - before;
    for (const s of sockets) s.destroy();
    // express (raw-body) holds what arrived (~200 bytes); the fast path holds 200 × 64 KiB = 12.5 MiB
    expect(grown).toBeLessThan(4 * 1024 * 1024);
  });
});
