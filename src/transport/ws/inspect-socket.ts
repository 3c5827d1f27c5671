/**
 * `WS /api/inspect/ws` on the local API server: the live inspection records as text frames, one
 * JSON `@statelyai/inspect` event each, so `createWebSocketReceiver({ server: url })` and the
 * Stately inspector bridge read them unchanged.
 *
 * The upgrade passes the local API's guards (`local-upgrade.ts`; express does not see upgrades):
 * loopback `Host`, no foreign `Origin`, and the token, as `?token=` (browsers cannot set headers
 * on a WebSocket) or `Authorization: Bearer`, compared in constant time. Failures are answered
 * with a problem+json document before any upgrade; without `--inspect`, 404 `ERR_INSPECT_OFF`. Clients only listen: what they send is ignored, frames
 * are capped, and a client that falls behind is cut off.
 *
 * @example
 * const sockets = attachInspectSocket(api.server, { token, getPort: () => api.port, source });
 * // ws://127.0.0.1:7401/api/inspect/ws?token=…
 * sockets.close();
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Subscription } from 'rxjs';
import { WebSocket, WebSocketServer } from 'ws';
import type { ErrorCode } from '../../errors.js';
import { INSPECT_OFF_DETAIL, INSPECT_WS_PATH, type InspectionSource } from '../http/inspect-api.js';
import {
  checkLocalUpgrade,
  claimUpgradePath,
  refuseUpgrade,
  shouldRefuseUnknown,
} from './local-upgrade.js';

export interface InspectSocketDeps {
  readonly token: string;
  /** The local API's port, for the `Origin` check. */
  readonly getPort: () => number;
  /** Undefined when `--inspect` is off: the route then answers 404 `ERR_INSPECT_OFF`. */
  readonly source: InspectionSource | undefined;
  /** Bytes a client may fall behind before it is cut off (default 4 MiB). */
  readonly maxBufferedBytes?: number;
}

export interface InspectSocketServer {
  /** Clients connected now. */
  readonly clients: number;
  /** Disconnect every client and stop answering upgrades. */
  close(): void;
}

/** Why an upgrade is refused, or undefined when it may proceed. */
function checkUpgrade(
  req: IncomingMessage,
  url: URL,
  deps: InspectSocketDeps,
): [ErrorCode, string] | undefined {
  return (
    checkLocalUpgrade(req, url, deps.token, deps.getPort(), INSPECT_WS_PATH) ??
    (deps.source === undefined ? ['ERR_INSPECT_OFF', INSPECT_OFF_DETAIL] : undefined)
  );
}

export function attachInspectSocket(server: Server, deps: InspectSocketDeps): InspectSocketServer {
  const maxBuffered = deps.maxBufferedBytes ?? 4 * 1024 * 1024;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4 * 1024,
    perMessageDeflate: false,
  });
  const subscriptions = new Set<Subscription>();

  const serve = (ws: WebSocket, source: InspectionSource): void => {
    ws.on('error', () => undefined);
    ws.on('message', () => undefined);
    const sub = source.events$().subscribe({
      next(record) {
        if (ws.readyState !== WebSocket.OPEN) return;
        ws.send(JSON.stringify(record));
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
    if (url.pathname !== INSPECT_WS_PATH) {
      if (shouldRefuseUnknown(server, INSPECT_WS_PATH, url.pathname))
        refuseUpgrade(socket, 'ERR_NOT_FOUND', 'no WebSocket here');
      return;
    }
    const refusal = checkUpgrade(req, url, deps);
    const source = deps.source;
    if (refusal !== undefined || source === undefined) {
      const [code, detail] = refusal ?? ['ERR_INSPECT_OFF', INSPECT_OFF_DETAIL];
      refuseUpgrade(socket, code, detail);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, source));
  };
  server.on('upgrade', onUpgrade);
  const release = claimUpgradePath(server, INSPECT_WS_PATH);

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
