/**
 * Room helpers for integration tests: local API calls with the bearer token (over loopback, or
 * through any other transport such as a network namespace), create/join/send/read, polling of
 * `GET /api/rooms/:id/messages` until a predicate holds (the timeout says what was seen), and a
 * small SSE reader for `GET /api/events`.
 */
import type { MessageView } from '../../src/actors/rooms/rooms-core.js';
import { createServer } from 'node:net';
import { http } from './http.js';
import type { TestPeer } from './peer-process.js';

export interface ApiResult {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  readonly json: any;
}

/** One peer's local API, as the room helpers use it. */
export interface RoomClient {
  readonly label: string;
  readonly peerId: string;
  call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<ApiResult>;
}

/** A message row of `GET /api/rooms/:id/messages`. */
export type MessageRow = MessageView;

/** A client for a peer on loopback (its API URL and token). */
export function loopbackClient(
  label: string,
  peer: { apiUrl: string; peerId: string },
  auth: Record<string, string>,
): RoomClient {
  return {
    label,
    peerId: peer.peerId,
    async call(method, path, body) {
      const r = await http(`${peer.apiUrl}${path}`, {
        method,
        headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: r.status, json: r.json };
    },
  };
}

export const clientOf = (label: string, t: TestPeer): RoomClient =>
  loopbackClient(label, t.p.ready, t.auth);

const show = (r: ApiResult): string => JSON.stringify(r.json);

/** Expect `status`, or fail with the peer's answer. */
export function expectStatus(r: ApiResult, status: number, what: string): ApiResult {
  if (r.status !== status)
    throw new Error(`${what}: expected HTTP ${status}, got ${r.status} ${show(r)}`);
  return r;
}

export async function createRoom(
  c: RoomClient,
  body: {
    name: string;
    policy?: string;
    password?: string;
    capacity?: number;
    suite?: string;
  },
): Promise<{ roomId: string; name: string; epoch: number }> {
  return expectStatus(await c.call('POST', '/api/rooms', body), 201, `${c.label} create room`).json;
}

export function joinRoom(
  c: RoomClient,
  ref: string,
  auth: { password?: string; invite?: string } = {},
): Promise<ApiResult> {
  return c.call('POST', `/api/rooms/${encodeURIComponent(ref)}/join`, auth);
}

export async function invite(c: RoomClient, roomId: string): Promise<string> {
  const r = expectStatus(
    await c.call('POST', `/api/rooms/${roomId}/invites`),
    201,
    `${c.label} invite`,
  );
  return r.json.code as string;
}

export async function send(
  c: RoomClient,
  roomId: string,
  text: string,
  id?: string,
): Promise<{ id: string; seq: number; epoch: number; sentAt: string }> {
  const r = await c.call('POST', `/api/rooms/${roomId}/messages`, {
    text,
    ...(id !== undefined ? { id } : {}),
  });
  return expectStatus(r, 201, `${c.label} send "${text}"`).json;
}

export async function readMessages(
  c: RoomClient,
  roomId: string,
  after = 0,
  limit = 1000,
): Promise<MessageRow[]> {
  const r = await c.call('GET', `/api/rooms/${roomId}/messages?after=${after}&limit=${limit}`);
  return expectStatus(r, 200, `${c.label} read`).json as MessageRow[];
}

export const brief = (rows: readonly MessageRow[]): string =>
  rows
    .map(
      (m) =>
        `#${m.seq} e${m.epoch} ${m.senderName ?? m.sender.slice(0, 8)}: ${
          m.text === null ? `<${m.error?.code ?? 'null'}>` : JSON.stringify(m.text)
        }`,
    )
    .join('\n  ') || '(none)';

/** Poll a peer's messages until `predicate` holds; on timeout, fail showing what was seen. */
export async function waitForMessages(
  c: RoomClient,
  roomId: string,
  predicate: (rows: MessageRow[]) => boolean,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<MessageRow[]> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last: MessageRow[] = [];
  let lastError: string;
  for (;;) {
    try {
      last = await readMessages(c, roomId);
      lastError = '';
      if (predicate(last)) return last;
    } catch (e) {
      lastError = (e as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(
        `${c.label}: ${opts.what ?? 'messages'} not seen in ${opts.timeoutMs ?? 20_000} ms; saw:\n  ${brief(last)}${
          lastError ? `\nlast error: ${lastError}` : ''
        }`,
      );
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}

/** Texts seen, in seq order. */
export const textsOf = (rows: readonly MessageRow[]): Array<string | null> =>
  rows.map((m) => m.text);

/** A row of `GET /api/rooms`. */
export interface RoomRow {
  readonly roomId: string;
  readonly name: string;
  readonly state: string;
  readonly epoch: number | null;
  readonly joined: boolean;
  readonly members: number | null;
  readonly pending?: ReadonlyArray<{ peerId: string; name: string }>;
}

/** Wait until `c` lists a room matching `pred` (e.g. a discovered room by name). */
export async function waitForRoom(
  c: RoomClient,
  pred: (room: RoomRow) => boolean,
  timeoutMs = 20_000,
): Promise<RoomRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await c.call('GET', '/api/rooms');
    const seen: unknown = r.json;
    const hit = Array.isArray(r.json) ? (r.json as RoomRow[]).find(pred) : undefined;
    if (hit) return hit;
    if (Date.now() > deadline)
      throw new Error(
        `${c.label}: room not listed in ${timeoutMs} ms; saw ${JSON.stringify(seen)}`,
      );
    await new Promise((res) => setTimeout(res, 200));
  }
}

// ---- SSE ----------------------------------------------------------------------------------

export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  readonly data: any;
  /** Date.now() when the frame was parsed. */
  readonly at: number;
}

export interface EventWatch {
  readonly events: SseEvent[];
  /** Resolves with the first event (already seen or later) matching `pred`. */
  waitFor(pred: (e: SseEvent) => boolean, timeoutMs?: number, what?: string): Promise<SseEvent>;
  close(): void;
}

/** Subscribe to `GET /api/events` of a loopback peer; resolves once the stream is open. */
export async function watchEvents(
  label: string,
  apiUrl: string,
  auth: Record<string, string>,
): Promise<EventWatch> {
  const ac = new AbortController();
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  const res = await fetch(`${apiUrl}/api/events`, {
    headers: { ...auth, accept: 'text/event-stream' },
    signal: ac.signal,
  });
  if (res.status !== 200 || !res.body)
    throw new Error(`${label}: /api/events answered ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        let id: string | undefined;
        let event = 'message';
        const data: string[] = [];
        for (const line of frame.split('\n')) {
          if (line.startsWith('id: ')) id = line.slice(4);
          else if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length === 0) continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(data.join('\n'));
        } catch {
          parsed = data.join('\n');
        }
        events.push({ id, event, data: parsed, at: Date.now() });
        for (const w of [...waiters]) w();
      }
    }
  })();
  return {
    events,
    waitFor(pred, timeoutMs = 10_000, what = 'event') {
      const hit = events.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const e = events.find(pred);
          if (!e) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(e);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `${label}: ${what} not pushed on /api/events in ${timeoutMs} ms; saw ${events
                .map((e) => `${e.event}:${JSON.stringify(e.data).slice(0, 120)}`)
                .join(' | ')}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
      });
    },
    close: () => ac.abort(),
  };
}

/** Seqs are 1..n without gaps (or `from`..`from+n-1`). */
export function isContiguous(rows: readonly MessageRow[], from = 1): boolean {
  return rows.every((m, i) => m.seq === from + i);
}

/** A TCP port that was free a moment ago on 127.0.0.1 (for a peer that must restart on it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Wait until the peer's log holds `count` events of `type` in `stream` (it caught up on disk). */
export async function waitForLogged(
  c: RoomClient,
  stream: string,
  type: string,
  count: number,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await c.call('GET', `/api/log?stream=${encodeURIComponent(stream)}&limit=5000`);
    const n: number = (r.json?.entries ?? []).filter(
      (e: { type: string }) => e.type === type,
    ).length;
    if (n >= count) return;
    if (Date.now() > deadline)
      throw new Error(
        `${c.label}: ${n}/${count} ${type} events logged in ${stream} after ${timeoutMs} ms`,
      );
    await new Promise((res) => setTimeout(res, 100));
  }
}
