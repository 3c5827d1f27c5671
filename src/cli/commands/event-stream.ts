/**
 * Follows the peer's push feed (`GET /api/events`, server-sent events) for as long as the caller
 * wants: named events with their ids, and after a dropped connection a reconnect that sends
 * `Last-Event-ID`, so the peer replays what was missed from its buffer.
 */
import { request, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, type ErrorCode } from '../../errors.js';
import type { ApiTarget } from '../api-client.js';

export interface FeedEvent {
  readonly id: string | undefined;
  /** `message`, `room`, `rotation`, `peer`, `security`. */
  readonly event: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface FollowInit {
  readonly target: ApiTarget;
  /** Abort to stop following; `followEvents` then resolves. */
  readonly signal: AbortSignal;
  readonly onEvent: (e: FeedEvent) => void;
  /** The stream is open (again): events may have been missed before it, catch up now. */
  readonly onOpen?: (reconnected: boolean) => void;
  /** The stream dropped; a reconnect follows. */
  readonly onDrop?: (reason: string) => void;
}

/** Parse one SSE frame (the lines between blank lines); comments and empty frames give nothing. */
export function parseFrame(frame: string): FeedEvent | undefined {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  for (const line of frame.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return undefined;
  try {
    const parsed = JSON.parse(data.join('\n')) as unknown;
    if (parsed === null || typeof parsed !== 'object') return undefined;
    return { id, event, data: parsed as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

function open(target: ApiTarget, lastId: string | undefined, signal: AbortSignal) {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(new URL('/api/events', `${target.apiUrl}/`), {
      headers: {
        authorization: `Bearer ${target.token}`,
        accept: 'text/event-stream',
        ...(lastId !== undefined ? { 'last-event-id': lastId } : {}),
      },
      signal,
    });
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
}

async function refusal(res: IncomingMessage): Promise<AppError> {
  let text = '';
  for await (const c of res) text += String(c);
  try {
    const p = JSON.parse(text) as { code?: string; detail?: string };
    return new AppError((p.code ?? 'ERR_INTERNAL') as ErrorCode, p.detail ?? 'refused');
  } catch {
    return new AppError('ERR_INTERNAL', `HTTP ${res.statusCode ?? 0} from /api/events`);
  }
}

/**
 * Follow the feed until `signal` aborts. Connection failures retry with backoff (up to 5 s);
 * an HTTP refusal (bad token, …) rejects, since retrying cannot fix it.
 */
export async function followEvents(init: FollowInit): Promise<void> {
  const { target, signal } = init;
  let lastId: string | undefined;
  let opened = false;
  let backoffMs = 250;
  while (!signal.aborted) {
    let reason = 'the peer closed the stream';
    try {
      const res = await open(target, lastId, signal);
      if ((res.statusCode ?? 500) >= 400) throw await refusal(res);
      init.onOpen?.(opened);
      opened = true;
      backoffMs = 250;
      res.setEncoding('utf8');
      let buf = '';
      for await (const chunk of res) {
        buf += chunk as string;
        let end: RegExpExecArray | null;
        while ((end = /\r?\n\r?\n/.exec(buf)) !== null) {
          const e = parseFrame(buf.slice(0, end.index));
          buf = buf.slice(end.index + end[0].length);
          if (e === undefined) continue;
          if (e.id !== undefined) lastId = e.id;
          init.onEvent(e);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof AppError) throw err;
      reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    }
    if (signal.aborted) return;
    init.onDrop?.(reason);
    await sleep(backoffMs, undefined, { signal }).catch(() => undefined);
    backoffMs = Math.min(backoffMs * 2, 5_000);
  }
}
