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
import type { Server } from 'node:http';
import type { Observable } from 'rxjs';
import { attachFeedSocket, checkLocalUpgrade, type FeedSocketServer } from './local-upgrade.js';

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
): FeedSocketServer {
  return attachFeedSocket(
    server,
    EVENTS_WS_PATH,
    (req, url) => {
      const refusal = checkLocalUpgrade(req, url, deps.token, deps.getPort(), EVENTS_WS_PATH);
      if (refusal) return refusal;
      const after = Number(url.searchParams.get('after') ?? 0);
      return deps.feed(Number.isInteger(after) && after >= 0 ? after : 0);
    },
    deps.maxBufferedBytes,
  );
}
