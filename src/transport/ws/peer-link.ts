/**
 * The peer-to-peer WebSocket link of a session: binary frames (sealed push frames — this layer
 * never sees plaintext) in both directions. The responder serves it on the peer API's HTTP server
 * at `/p2p/v1/session/:sid/link`; the requester connects to it. Writes made in one tick are corked
 * into one syscall; a peer that stops reading past `maxBufferedBytes` is disconnected.
 *
 * @example
 * const server = attachLinkServer(peerApi.server, { onLink: (sid, link) => … });
 * const link = await connectLink(peerUrl, sid);
 * link.frames$.subscribe((frame) => …); link.send(frame);
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Observable } from 'rxjs';
import { Subject } from 'rxjs';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { AppError } from '../../errors.js';
import { upgradeUrl } from './upgrade-target.js';

export const LINK_PATH = /^\/p2p\/v1\/session\/([A-Za-z0-9_-]{8,64})\/link$/;
const MAX_FRAME = 256 * 1024;

export interface Link {
  readonly frames$: Observable<Buffer>;
  /** Queue a frame; returns false when the link is closed or the peer is too far behind. */
  send(frame: Buffer): boolean;
  close(code?: number, reason?: string): void;
  readonly isOpen: boolean;
  readonly closed: Promise<void>;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** How often each side pings an idle-looking link; a link silent for two rounds is dead. */
export const LINK_HEARTBEAT_MS = 15_000;

export interface LinkOptions {
  /** Disconnect a peer that leaves more than this unread (default 4 MiB). */
  readonly maxBufferedBytes?: number;
  /** Ping period (default `LINK_HEARTBEAT_MS`); 0 turns the heartbeat off. */
  readonly heartbeatMs?: number;
}

/**
 * Heartbeat: a link whose peer went away without a FIN (a laptop asleep, a cable pulled, an
 * address changed) looks open for minutes, swallowing pushes that never arrive, and the requester
 * never falls back to polling. Each side pings every `heartbeatMs`; a link that answered nothing
 * (no pong, no frame) for two rounds is terminated, which closes it on our side at once.
 */
function keepAlive(ws: WebSocket, heartbeatMs: number): void {
  if (heartbeatMs <= 0) return;
  let heard = true;
  const alive = (): void => {
    heard = true;
  };
  ws.on('pong', alive);
  ws.on('message', alive);
  let missed = 0;
  const timer = setInterval(() => {
    if (ws.readyState !== WebSocket.OPEN) return;
    missed = heard ? 0 : missed + 1;
    heard = false;
    if (missed >= 2) {
      ws.terminate();
      return;
    }
    ws.ping();
  }, heartbeatMs);
  timer.unref();
  ws.once('close', () => clearInterval(timer));
}

export function wrapSocket(ws: WebSocket, options: LinkOptions = {}): Link {
  const maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  keepAlive(ws, options.heartbeatMs ?? LINK_HEARTBEAT_MS);
  const frames = new Subject<Buffer>();
  /** Inside a tick that has sent: the socket is corked until the next tick. */
  let inTick = false;
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      ws.close(1003, 'binary frames only');
      return;
    }
    frames.next(toBuffer(data));
  });
  ws.on('error', () => undefined);
  ws.once('close', () => frames.complete());
  return {
    frames$: frames.asObservable(),
    send(frame) {
      if (ws.readyState !== WebSocket.OPEN) return false;
      if (!inTick) {
        // Only what earlier ticks left unread counts against the peer: this tick's own writes
        // (a fan-out burst, corked below) are not a slow reader, and cutting the link for them
        // lost frames `send` had already accepted.
        if (ws.bufferedAmount > maxBufferedBytes) {
          ws.terminate();
          return false;
        }
        inTick = true;
        const raw = (ws as unknown as { _socket?: Duplex })._socket;
        raw?.cork();
        process.nextTick(() => {
          inTick = false;
          raw?.uncork();
        });
      }
      ws.send(frame, { binary: true });
      return true;
    },
    close(code = 1000, reason = '') {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)
        ws.close(code, reason);
    },
    get isOpen() {
      return ws.readyState === WebSocket.OPEN;
    },
    closed,
  };
}

export interface LinkServer {
  close(): void;
}

/** Serve session links on an existing HTTP server; other upgrade paths are refused. */
export function attachLinkServer(
  server: Server,
  handlers: { onLink: (sid: string, link: Link) => void; hasSession: (sid: string) => boolean },
  options: LinkOptions = {},
): LinkServer {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME,
    perMessageDeflate: false,
  });
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = upgradeUrl(req.url);
    const sid = url && LINK_PATH.exec(url.pathname)?.[1];
    if (sid === undefined || !handlers.hasSession(sid)) {
      // Node took its own error listener off the socket before `upgrade`: a reset while we
      // answer must not become an uncaught error.
      socket.on('error', () => undefined);
      socket.write('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => handlers.onLink(sid, wrapSocket(ws, options)));
  };
  server.on('upgrade', onUpgrade);
  return {
    close() {
      server.off('upgrade', onUpgrade);
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}

/** Open the link of session `sid` on the peer at `peerUrl`. */
export function connectLink(
  peerUrl: string,
  sid: string,
  timeoutMs = 5_000,
  options: LinkOptions = {},
): Promise<Link> {
  const url = new URL(`/p2p/v1/session/${sid}/link`, peerUrl);
  url.protocol = 'ws:';
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      maxPayload: MAX_FRAME,
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
    });
    ws.once('open', () => resolve(wrapSocket(ws, options)));
    ws.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new AppError(
          'ERR_PEER_UNREACHABLE',
          `cannot open the session link to ${url.origin} (${e.code ?? e.message})`,
        ),
      ),
    );
  });
}
