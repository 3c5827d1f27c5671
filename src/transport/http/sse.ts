/**
 * Server-sent events from an Observable, with a bounded per-client buffer: a client that stops
 * reading is disconnected instead of growing the peer's memory. What the Observable gives at once
 * when subscribed (a feed's replay of its buffer, itself bounded) is not lag: the limit counts
 * what piles up beyond it, so a client that connects after a burst of large events is served.
 */
import type { Request, Response } from 'express';
import type { Observable } from 'rxjs';

export interface SseItem {
  readonly id?: string;
  readonly event?: string;
  readonly data: unknown;
}

export interface SseOptions {
  /** Bytes a client may fall behind before it is cut off (default 1 MiB). */
  readonly maxBufferedBytes?: number;
  readonly heartbeatMs?: number;
}

export function streamSse(
  req: Request,
  res: Response,
  items$: Observable<SseItem>,
  options: SseOptions = {},
): void {
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.write(': conclave\n\n');

  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), options.heartbeatMs ?? 15_000);
  heartbeat.unref();
  // What `subscribe` delivers at once is the replay; its bytes still unsent (at most what is
  // buffered) are not lag.
  let replaying = true;
  let replay = 0;
  const sub = items$.subscribe({
    next(item) {
      let frame = '';
      if (item.id !== undefined) frame += `id: ${item.id}\n`;
      if (item.event !== undefined) frame += `event: ${item.event}\n`;
      frame += `data: ${JSON.stringify(item.data)}\n\n`;
      if (!replaying) replay = Math.min(replay, res.writableLength);
      res.write(frame);
      if (!replaying && res.writableLength - replay > maxBuffered) {
        res.destroy();
      }
    },
    error() {
      res.end();
    },
    complete() {
      res.end();
    },
  });
  replaying = false;
  replay = res.writableLength;
  const stop = (): void => {
    clearInterval(heartbeat);
    sub.unsubscribe();
  };
  req.on('close', stop);
  res.on('close', stop);
}
