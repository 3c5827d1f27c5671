/**
 * Hostile and heavy traffic on the WebSocket paths, found by a review: a request target that
 * `new URL` cannot read used to throw inside the server's `upgrade` event and end the process; a
 * fan-out burst in one tick used to count as a slow reader and cut a healthy link, losing frames
 * `send` had accepted; an answer cut off mid-body gave a raw `Error: aborted` with no code.
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { firstValueFrom, NEVER, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { listenHttp, type HttpListener } from '../../src/transport/http/http-server.js';
import { createPeerApi } from '../../src/transport/http/peer-api.js';
import { peerRequest } from '../../src/transport/http/peer-client.js';
import { attachFeedSocket } from '../../src/transport/ws/local-upgrade.js';
import {
  attachLinkServer,
  connectLink,
  type Link,
  type LinkOptions,
} from '../../src/transport/ws/peer-link.js';
import { upgradeUrl } from '../../src/transport/ws/upgrade-target.js';
import { http, testHello } from '../support/http.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const hello = testHello;

async function peerApiWithLinks(
  onLink: (sid: string, link: Link) => void,
  options: LinkOptions = {},
): Promise<HttpListener> {
  const api = await listenHttp(createPeerApi({ hello, onUnexpected: () => undefined }), {
    host: '127.0.0.1',
    port: 0,
  });
  const links = attachLinkServer(
    api.server,
    { hasSession: (sid) => sid === 'sessionAAAA', onLink },
    options,
  );
  cleanups.push(() => api.close(100));
  cleanups.push(() => links.close());
  return api;
}

/** Send raw bytes, collect the answer until the server closes (or 2 s pass). */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(bytes));
    let out = '';
    s.setEncoding('utf8').on('data', (d: string) => (out += d));
    const done = (): void => resolve(out);
    s.on('close', done);
    s.on('error', done);
    setTimeout(() => {
      s.destroy();
      done();
    }, 2_000).unref();
  });
}

const upgradeTo = (target: string): string =>
  `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

const HOSTILE_TARGETS = [
  '//a:b',
  '//a:b/p2p/v1/session/sessionAAAA/link',
  '//[::1',
  'http://x:y/',
  '*',
];

describe('upgrade request targets', () => {
  it('upgradeUrl reads origin-form targets and never throws', () => {
    expect(upgradeUrl('/p2p/v1/session/abc/link?x=1')?.pathname).toBe('/p2p/v1/session/abc/link');
    expect(upgradeUrl('//a:b')?.pathname).toBe('//a:b');
    for (const t of [undefined, '', '*', 'http://x:y/', 'a:b'])
      expect(upgradeUrl(t)).toBeUndefined();
  });

  it('the peer link server answers 404 to targets it cannot read, and keeps serving', async () => {
    const api = await peerApiWithLinks(() => undefined);
    const port = (api.server.address() as AddressInfo).port;
    for (const target of HOSTILE_TARGETS) {
      const answer = await raw(port, upgradeTo(target));
      expect(answer === '' || /^HTTP\/1\.1 (400|404)/.test(answer), `${target}: ${answer}`).toBe(
        true,
      );
    }
    expect((await http(`${api.url}/p2p/v1/hello`)).status).toBe(200);
    const link = await connectLink(api.url, 'sessionAAAA');
    cleanups.push(() => link.close());
    expect(link.isOpen).toBe(true);
  });

  it('the local feed socket answers 404 to targets it cannot read, and keeps serving', async () => {
    const server: Server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const feed = attachFeedSocket(server, '/api/ws', () => NEVER);
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    cleanups.push(() => feed.close());
    const port = (server.address() as AddressInfo).port;
    for (const target of HOSTILE_TARGETS) {
      const answer = await raw(port, upgradeTo(target));
      expect(answer === '' || /^HTTP\/1\.1 (400|404)/.test(answer), `${target}: ${answer}`).toBe(
        true,
      );
    }
    expect((await http(`http://127.0.0.1:${port}/`)).status).toBe(200);
  });
});

describe('link backpressure', () => {
  it('a burst far past the buffer limit in one tick is delivered whole, the link stays up', async () => {
    let serverLink: Link | undefined;
    const api = await peerApiWithLinks((_sid, link) => (serverLink = link));
    const link = await connectLink(api.url, 'sessionAAAA');
    cleanups.push(() => link.close());
    while (!serverLink) await new Promise((r) => setTimeout(r, 5));
    const n = 110; // 110 × 40 KB ≈ 4.4 MB in one tick, past the 4 MiB limit
    const all = firstValueFrom(link.frames$.pipe(take(n), toArray()));
    let accepted = 0;
    for (let i = 0; i < n; i++) if (serverLink.send(Buffer.alloc(40_000, i % 251))) accepted++;
    expect(accepted).toBe(n);
    const got = await all;
    expect(got.map((f) => f[0])).toEqual(Array.from({ length: n }, (_, i) => i % 251));
    expect(serverLink.isOpen).toBe(true);
  });

  it('a peer that stops reading is still cut off once earlier ticks pile up past the limit', async () => {
    let serverLink: Link | undefined;
    const api = await peerApiWithLinks((_sid, link) => (serverLink = link));
    const client = new WebSocket(
      `${api.url.replace('http:', 'ws:')}/p2p/v1/session/sessionAAAA/link`,
    );
    cleanups.push(() => client.terminate());
    await new Promise<void>((r) => client.once('open', () => r()));
    client.pause(); // stops reading: its socket buffers fill, then the server's
    while (!serverLink) await new Promise((r) => setTimeout(r, 5));
    let refusedAt = -1;
    for (let tick = 0; tick < 400 && refusedAt < 0; tick++) {
      if (!serverLink.send(Buffer.alloc(200_000, 1))) refusedAt = tick;
      await new Promise((r) => setImmediate(r));
    }
    expect(refusedAt).toBeGreaterThan(0);
    await serverLink.closed;
    expect(serverLink.isOpen).toBe(false);
  });
});

describe('link heartbeat', () => {
  it('a link whose peer went silent (no pongs) is closed after two rounds', async () => {
    let serverLink: Link | undefined;
    const api = await peerApiWithLinks((_sid, link) => (serverLink = link), { heartbeatMs: 40 });
    const client = new WebSocket(
      `${api.url.replace('http:', 'ws:')}/p2p/v1/session/sessionAAAA/link`,
    );
    cleanups.push(() => client.terminate());
    await new Promise<void>((r) => client.once('open', () => r()));
    client.pause(); // reads nothing, so answers no ping: as a peer that vanished without a FIN
    while (!serverLink) await new Promise((r) => setTimeout(r, 5));
    const t0 = Date.now();
    await serverLink.closed;
    expect(serverLink.isOpen).toBe(false);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('an idle link between two live peers stays up across many rounds', async () => {
    let serverLink: Link | undefined;
    const api = await peerApiWithLinks((_sid, link) => (serverLink = link), { heartbeatMs: 20 });
    const link = await connectLink(api.url, 'sessionAAAA', 5_000, { heartbeatMs: 20 });
    cleanups.push(() => link.close());
    while (!serverLink) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 300)); // 15 rounds, nothing sent
    expect(link.isOpen).toBe(true);
    expect(serverLink.isOpen).toBe(true);
    const echo = firstValueFrom(link.frames$);
    serverLink.send(Buffer.from('still here'));
    expect((await echo).toString()).toBe('still here');
  });
});

describe('peer client', () => {
  it('an answer cut off mid-body is ERR_PEER_UNREACHABLE, not a raw error', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    await expect(peerRequest(`http://127.0.0.1:${port}`, 'GET', '/x')).rejects.toMatchObject({
      code: 'ERR_PEER_UNREACHABLE',
    });
  });
});
