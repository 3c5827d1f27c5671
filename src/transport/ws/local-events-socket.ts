/**
 * `WS /api/events/ws` on the local API server: the same feed as `GET /api/events` (message, room,
 * rotation, peer, security events), one JSON text frame per event `{id, type, at, data}`. Resume
 * with `?after=ID` (the last id seen), like SSE's `Last-Event-ID`. Guarded like every local route
 * (loopback Host, own Origin, the token as `?token=` or a bearer header). Clients only listen;
 * one that falls behind by more than `maxBufferedBytes` is cut off (it reconnects with `after`).
 *
 * @example
 * const ws = new WebSocket(`ws://127.0.0.1:7401/api/events/ws?token=${token}&after=42`);
 * ws.on('message', (text) => console.log(JSON.parse(String(text))));
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Observable, Subscription } from 'rxjs';
import { WebSocket, WebSocketServer } from 'ws';
import {
  checkLocalUpgrade,
  claimUpgradePath,
  refuseUpgrade,
  shouldRefuseUnknown,
} from './local-upgrade.js';

export const EVENTS_WS_PATH = '/api/events/ws';

export interface FeedItem {
  readonly id: number;
  readonly type: string;
  readonly at: string;
  readonly data: unknown;
}

export interface LocalEventsSocketDeps {
  readonly token: string;
  readonly getPort: () => number;
  /** Buffered events with id > `afterId`, then live ones. */
  readonly feed: (afterId: number) => Observable<FeedItem>;
  readonly maxBufferedBytes?: number;
}

export function attachLocalEventsSocket(
  server: Server,
  deps: LocalEventsSocketDeps,
): { readonly clients: number; close(): void } {
  const maxBuffered = deps.maxBufferedBytes ?? 4 * 1024 * 1024;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4 * 1024,
    perMessageDeflate: false,
  });
  const subscriptions = new Set<Subscription>();

  const serve = (ws: WebSocket, after: number): void => {
    ws.on('error', () => undefined);
    ws.on('message', () => undefined);
    const sub = deps.feed(after).subscribe({
      next(e) {
        if (ws.readyState !== WebSocket.OPEN) return;
        ws.send(JSON.stringify(e));
        if (ws.bufferedAmount > maxBuffered) ws.terminate();
      },
      complete() {
        ws.close(1001, 'the peer is stopping');
      },
    });
    subscriptions.add(sub);
    ws.once('close', () => {
      sub.unsubscribe();
      subscriptions.delete(sub);
    });
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== EVENTS_WS_PATH) {
      if (shouldRefuseUnknown(server, EVENTS_WS_PATH, url.pathname))
        refuseUpgrade(socket, 'ERR_NOT_FOUND', 'no WebSocket here');
      return;
    }
    const refusal = checkLocalUpgrade(req, url, deps.token, deps.getPort(), EVENTS_WS_PATH);
    if (refusal) {
      refuseUpgrade(socket, ...refusal);
      return;
    }
    const after = Number(url.searchParams.get('after') ?? 0);
    wss.handleUpgrade(req, socket, head, (ws) =>
      serve(ws, Number.isInteger(after) && after >= 0 ? after : 0),
    );
  };
  server.on('upgrade', onUpgrade);
  const release = claimUpgradePath(server, EVENTS_WS_PATH);

  return {
    get clients() {
      return wss.clients.size;
    },
    close() {
      server.off('upgrade', onUpgrade);
      release();
      for (const sub of subscriptions) sub.unsubscribe();
      subscriptions.clear();
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
