import { EMPTY } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';
import { listenHttp, type HttpListener } from '../../src/transport/http/http-server.js';
import { createLocalApi, type LocalRequest } from '../../src/transport/http/local-api.js';
import { createRequestChannel } from '../../src/transport/request-channel.js';
import { http } from '../support/http.js';

const TOKEN = 'test-token-0123456789abcdef0123456789abcdef';

describe('local API guards', () => {
  let api: HttpListener;
  const unexpected: unknown[] = [];
  const channel = createRequestChannel<LocalRequest, unknown>({ defaultTimeoutMs: 1_000 });
  const sub = channel.requests$.subscribe(({ requestId }) =>
    channel.respond(requestId, { peerId: 'p1' }),
  );

  beforeAll(async () => {
    const store = createMemoryEventStore();
    await store.append('peer:p1', [
      { type: 'xstate.init', data: {}, meta: { recordedAt: new Date().toISOString() } },
    ]);
    let port = 0;
    api = await listenHttp(
      createLocalApi({
        token: TOKEN,
        getPort: () => port,
        channel,
        log: store,
        health: () => ({ status: 'ok' }),
        peers: () => [],
        feed: () => EMPTY,
        actors: () => [],
        metrics: () => '',
        discoveryDiagnostics: () => ({ enabled: false }),
        onUnexpected: (e) => unexpected.push(e),
      }),
      { host: '127.0.0.1', port: 0 },
    );
    port = api.port;
  });
  afterAll(async () => {
    sub.unsubscribe();
    await api.close();
  });

  const auth = { authorization: `Bearer ${TOKEN}` };

  it('answers /api/health without a token', async () => {
    const r = await http(`${api.url}/api/health`);
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('ok');
  });

  it('refuses a missing token with 401 and a problem document', async () => {
    const r = await http(`${api.url}/api/info`);
    expect(r.status).toBe(401);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(r.json.code).toBe('ERR_UNAUTHORIZED');
    expect(r.headers['www-authenticate']).toContain('Bearer');
  });

  it('refuses a wrong token with 401', async () => {
    const r = await http(`${api.url}/api/info`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(r.status).toBe(401);
    expect(r.json.code).toBe('ERR_UNAUTHORIZED');
  });

  it('serves /api/info through the request channel with the right token', async () => {
    const r = await http(`${api.url}/api/info`, { headers: auth });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ peerId: 'p1' });
  });

  it('refuses a foreign Host header with 403 even with the token', async () => {
    const r = await http(`${api.url}/api/info`, { headers: { ...auth, host: 'evil.example' } });
    expect(r.status).toBe(403);
    expect(r.json.code).toBe('ERR_FORBIDDEN_HOST');
  });

  it('refuses a foreign Host header on /api/health too (DNS rebinding)', async () => {
    const r = await http(`${api.url}/api/health`, { headers: { host: 'evil.example:7401' } });
    expect(r.status).toBe(403);
  });

  it('accepts localhost and [::1] as Host', async () => {
    for (const host of [`localhost:${api.port}`, `[::1]:${api.port}`, '127.0.0.1']) {
      const r = await http(`${api.url}/api/info`, { headers: { ...auth, host } });
      expect(r.status, host).toBe(200);
    }
  });

  it('refuses a foreign Origin with 403', async () => {
    for (const origin of [
      'http://evil.example',
      'null',
      `http://127.0.0.1:${api.port + 1}`,
      `https://localhost:${api.port}`,
    ]) {
      const r = await http(`${api.url}/api/info`, { headers: { ...auth, origin } });
      expect(r.status, origin).toBe(403);
      expect(r.json.code).toBe('ERR_FORBIDDEN_ORIGIN');
    }
  });

  it('accepts its own origin', async () => {
    const r = await http(`${api.url}/api/info`, {
      headers: { ...auth, origin: `http://localhost:${api.port}` },
    });
    expect(r.status).toBe(200);
  });

  it('refuses a 5 MB body with 413 before reading it', async () => {
    const body = Buffer.alloc(5 * 1024 * 1024, 0x61);
    const r = await http(`${api.url}/api/info`, {
      method: 'POST',
      headers: {
        ...auth,
        'content-type': 'application/json',
        'content-length': String(body.length),
      },
      body,
    }).catch((e: NodeJS.ErrnoException) => ({ status: -1, error: e.code }) as never);
    // The server answers 413 and closes; the client may see EPIPE/ECONNRESET while still writing.
    if (r.status !== -1) {
      expect(r.status).toBe(413);
      expect(r.json.code).toBe('ERR_BODY_TOO_LARGE');
    }
    const probe = await http(`${api.url}/api/info`, {
      method: 'POST',
      headers: {
        ...auth,
        'content-type': 'application/json',
        'content-length': String(5 * 1024 * 1024),
      },
      body: '{}',
    }).catch(() => undefined);
    expect(probe?.status).toBe(413);
  });

  it('refuses malformed JSON with 400 ERR_INVALID_JSON', async () => {
    const r = await http(`${api.url}/api/nothing-here`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"a": ',
    });
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('ERR_INVALID_JSON');
    expect(r.text).not.toMatch(/at .*\.js:\d+/);
  });

  it('refuses a non-JSON body with 415', async () => {
    const r = await http(`${api.url}/api/info`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(r.status).toBe(415);
    expect(r.json.code).toBe('ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers an unknown route with 404 ERR_NOT_FOUND', async () => {
    const r = await http(`${api.url}/api/nope`, { headers: auth });
    expect(r.status).toBe(404);
    expect(r.json.code).toBe('ERR_NOT_FOUND');
  });

  it('reads the log with paging and validates its query', async () => {
    const ok = await http(`${api.url}/api/log?after=0&limit=10`, { headers: auth });
    expect(ok.status).toBe(200);
    expect(ok.json.entries).toHaveLength(1);
    expect(ok.json.entries[0].stream).toBe('peer:p1');
    const bad = await http(`${api.url}/api/log?limit=-3`, { headers: auth });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('ERR_INVALID_ARGUMENT');
  });

  it('refuses a ping ?via= other than push or request with 400, and takes the two', async () => {
    const ping = (q: string) =>
      http(`${api.url}/api/peers/${'a'.repeat(64)}/ping${q}`, { method: 'POST', headers: auth });
    for (const q of ['?via=PUSH', '?via=bogus', '?via=push&via=push']) {
      const r = await ping(q);
      expect(r.status, q).toBe(400);
      expect(r.json.code).toBe('ERR_INVALID_ARGUMENT');
    }
    for (const q of ['', '?via=push', '?via=request']) expect((await ping(q)).status, q).toBe(200);
  });

  it('says a path that does not percent-decode is a bad path, not a bad body', async () => {
    const r = await http(`${api.url}/api/peers/%ZZ/ping`, { method: 'POST', headers: auth });
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('ERR_INVALID_ARGUMENT');
    expect(r.json.detail).toMatch(/percent-encoding in the request path/);
  });

  it('never treated a client error as an unexpected (stack-logged) error', () => {
    expect(unexpected).toEqual([]);
  });
});
