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
import type { ErrorCode } from '../../errors.js';
import { INSPECT_OFF_DETAIL, INSPECT_WS_PATH, type InspectionSource } from '../http/inspect-api.js';
import { attachFeedSocket, checkLocalUpgrade, type FeedSocketServer } from './local-upgrade.js';

export interface InspectSocketDeps {
  readonly token: string;
  /** The local API's port, for the `Origin` check. */
  readonly getPort: () => number;
  /** Undefined when `--inspect` is off: the route then answers 404 `ERR_INSPECT_OFF`. */
  readonly source: InspectionSource | undefined;
  /** Bytes a client may fall behind before it is cut off (default 4 MiB). */
  readonly maxBufferedBytes?: number;
}

export type InspectSocketServer = FeedSocketServer;

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
  return attachFeedSocket(
    server,
    INSPECT_WS_PATH,
    (req, url) => {
      const refusal = checkUpgrade(req, url, deps);
      if (refusal !== undefined || deps.source === undefined)
        return refusal ?? ['ERR_INSPECT_OFF', INSPECT_OFF_DETAIL];
      return deps.source.events$();
    },
    deps.maxBufferedBytes,
  );
}
