/**
 * `GET /api/events`-style SSE over real HTTP (express + `streamSse` + the event hub): a client that
 * connects after a burst of large events gets the whole replay even when it is past the lag limit
 * (the limit is for live lag: such a client used to be cut before its first byte, every time),
 * a client that really stops reading is still cut, and a `Last-Event-ID` from before a restart
 * (past the newest id) gets the buffer instead of nothing for ever.
 */
import express from 'express';
import { request, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { map } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventHub, type EventHub } from '../../src/actors/event-hub.js';
import { streamSse } from '../../src/transport/http/sse.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const cut = { count: 0 };

async function serve(hub: EventHub, maxBufferedBytes: number): Promise<number> {
  const app = express();
  app.get('/events', (req, res) => {
    res.on('close', () => {
      if (!res.writableFinished) cut.count++;
    });
    const after = Number(req.headers['last-event-id'] ?? 0);
    streamSse(
      req,
      res,
      hub.events$(after).pipe(map((e) => ({ id: String(e.id), event: e.type, data: e.data }))),
      { maxBufferedBytes },
    );
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** Read the stream until `done(text)` or the server ends it; the ids seen. */
function readIds(
  port: number,
  lastEventId: string | undefined,
  done: (text: string) => boolean,
): Promise<{ ids: number[]; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/events',
        headers: lastEventId ? { 'last-event-id': lastEventId } : {},
      },
      (res: IncomingMessage) => {
        let text = '';
        const finish = (ended: boolean) => {
          const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
          req.destroy();
          resolve({ ids, ended });
        };
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
          if (done(text)) finish(false);
        });
        res.on('end', () => finish(true));
        res.on('error', () => finish(true));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('SSE replay', () => {
  it('serves a replay larger than the lag limit to a client that reads', async () => {
    const hub = createEventHub({ capacity: 1000 });
    const text = 'x'.repeat(8 * 1024);
    for (let i = 0; i < 300; i++) hub.publish('message', { text }); // ~2.4 MB, limit 256 KiB
    const port = await serve(hub, 256 * 1024);
    const { ids } = await readIds(port, undefined, (t) => t.includes('id: 300\n'));
    expect(ids).toHaveLength(300);
    expect(ids[0]).toBe(1);
  });

  it('still cuts a client that stops reading once live events pile up past the limit', async () => {
    const hub = createEventHub({ capacity: 1000 });
    const port = await serve(hub, 256 * 1024);
    const before = cut.count;
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.pause(); // never reads
    socket.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const text = 'y'.repeat(64 * 1024);
    for (let i = 0; i < 200 && cut.count === before; i++) {
      hub.publish('message', { text }); // 12.8 MB in all: past kernel buffers and the limit
      await new Promise((r) => setImmediate(r));
    }
    expect(cut.count).toBe(before + 1);
    socket.destroy();
  });

  it('gives a Last-Event-ID past the newest id (from before a restart) the whole buffer', async () => {
    const hub = createEventHub({ capacity: 1000 });
    for (let i = 0; i < 5; i++) hub.publish('peer', { n: i });
    const port = await serve(hub, 1024 * 1024);
    setTimeout(() => hub.publish('peer', { n: 5 }), 100);
    const { ids } = await readIds(port, '999999', (t) => t.includes('id: 6\n'));
    expect(ids).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
