import { afterEach, describe, expect, it } from 'vitest';
import { firstValueFrom, take, toArray } from 'rxjs';
import { listenHttp, type HttpListener } from '../../src/transport/http/http-server.js';
import { createPeerApi, type PortAnswer } from '../../src/transport/http/peer-api.js';
import {
  attachLinkServer,
  connectLink,
  type Link,
  type LinkServer,
} from '../../src/transport/ws/peer-link.js';
import { http, testHello } from '../support/http.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function peerApi(ports: Parameters<typeof createPeerApi>[0]): Promise<HttpListener> {
  const api = await listenHttp(createPeerApi(ports), { host: '127.0.0.1', port: 0 });
  cleanups.push(() => api.close(100));
  return api;
}

const hello = testHello;

describe('peer API handshake routes', () => {
  it('hands bodies and the source address to the port and maps its answers', async () => {
    const seen: Array<[unknown, string]> = [];
    const api = await peerApi({
      hello,
      onUnexpected: () => undefined,
      handshake: {
        offer: (b, s): Promise<PortAnswer> => {
          seen.push([b, s]);
          return Promise.resolve({ ok: true, body: { type: 'hs.accept' } });
        },
        confirm: () =>
          Promise.resolve({
            ok: false,
            code: 'ERR_HANDSHAKE_FAILED',
            detail: 'bad confirm',
            reason: 'bad-confirm',
          }),
      },
    });
    const post = (path: string, body: unknown) =>
      http(`${api.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await post('/p2p/v1/handshake/offer', { a: 1 });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ type: 'hs.accept' });
    expect(seen).toEqual([[{ a: 1 }, '127.0.0.1']]);
    const bad = await post('/p2p/v1/handshake/confirm', {});
    expect(bad.status).toBe(422);
    expect(bad.json).toMatchObject({ code: 'ERR_HANDSHAKE_FAILED', reason: 'bad-confirm' });
  });

  it('answers 429 with Retry-After past the per-source handshake rate', async () => {
    const api = await peerApi({
      hello,
      onUnexpected: () => undefined,
      handshakeRatePerSec: 2,
      handshake: {
        offer: () => Promise.resolve({ ok: true, body: {} }),
        confirm: () => Promise.resolve({ ok: true, body: {} }),
      },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await http(`${api.url}/p2p/v1/handshake/offer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      statuses.push(r.status);
      if (r.status === 429) {
        expect(r.json.code).toBe('ERR_RATE_LIMITED');
        expect(r.headers['retry-after']).toBe('1');
      }
    }
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(5);
    expect(statuses).toContain(429);
  });
});

describe('session link', () => {
  it('carries binary frames both ways and refuses unknown sessions', async () => {
    const api = await peerApi({ hello, onUnexpected: () => undefined });
    const serverLinks: Link[] = [];
    const server: LinkServer = attachLinkServer(api.server, {
      hasSession: (sid) => sid === 'sessionAAAA',
      onLink: (_sid, link) => {
        serverLinks.push(link);
        link.frames$.subscribe((f) => link.send(Buffer.concat([Buffer.from('echo:'), f])));
      },
    });
    cleanups.push(() => server.close());

    await expect(connectLink(api.url, 'sessionBBBB')).rejects.toMatchObject({
      code: 'ERR_PEER_UNREACHABLE',
    });
    const link = await connectLink(api.url, 'sessionAAAA');
    cleanups.push(() => link.close());
    const replies = firstValueFrom(link.frames$.pipe(take(3), toArray()));
    for (const s of ['a', 'b', 'c']) link.send(Buffer.from(s));
    expect((await replies).map((b) => b.toString())).toEqual(['echo:a', 'echo:b', 'echo:c']);
    expect(serverLinks).toHaveLength(1);
    link.close();
    await link.closed;
    expect(link.isOpen).toBe(false);
  });
});
