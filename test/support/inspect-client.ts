/** Readers of a peer's live inspection for tests: the SSE route over node:http, and the WebSocket. */
import { request } from 'node:http';
import { WebSocket } from 'ws';

/** A record as the tests read it (JSON from the wire). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
export type Rec = Record<string, any>;

export interface Reader {
  readonly records: Rec[];
  /** Raw text of everything received, for scans. */
  raw(): string;
  close(): void;
}

/** Follow `GET /api/inspect/events`; resolves once the response headers are in. */
export function followInspectSse(
  apiUrl: string,
  headers: Record<string, string>,
): Promise<Reader & { readonly status: number; readonly body: () => string }> {
  return new Promise((resolve, reject) => {
    const records: Rec[] = [];
    let text = '';
    let buf = '';
    const req = request(`${apiUrl}/api/inspect/events`, {
      headers: { ...headers, accept: 'text/event-stream' },
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET') reject(err);
    });
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        buf += chunk;
        let idx: number;
        while ((idx = buf.indexOf('\n\n')) !== -1) {
          const frame = buf.slice(0, idx);
          buf = buf.slice(idx + 2);
          const data = frame
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6));
          if (data.length > 0) records.push(JSON.parse(data.join('\n')) as Rec);
        }
      });
      res.on('error', () => undefined);
      resolve({
        status: res.statusCode ?? 0,
        records,
        raw: () => text,
        body: () => text,
        close: () => req.destroy(),
      });
    });
    req.end();
  });
}

/** Open `WS /api/inspect/ws` (the URL carries `?token=` when given); resolves when open. */
export function openInspectSocket(
  url: string,
  headers: Record<string, string> = {},
): Promise<Reader & { readonly binaryFrames: () => number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const records: Rec[] = [];
    let text = '';
    let binaryFrames = 0;
    ws.on('message', (data, isBinary) => {
      if (isBinary) binaryFrames += 1;
      const s = Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Buffer.from(data as ArrayBuffer).toString('utf8');
      text += `${s}\n`;
      records.push(JSON.parse(s) as Rec);
    });
    ws.once('open', () =>
      resolve({
        records,
        raw: () => text,
        binaryFrames: () => binaryFrames,
        close: () => ws.terminate(),
      }),
    );
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`HTTP ${res.statusCode ?? 0}`));
      res.resume();
    });
    ws.once('error', reject);
  });
}

/** The HTTP answer to a WebSocket upgrade that the server refuses (status and problem JSON). */
export function refusedUpgrade(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Rec | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url.replace(/^ws:/, 'http:'), {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve({ status: 101, json: undefined });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        let json: Rec | undefined;
        try {
          json = JSON.parse(body) as Rec;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every `[key, value]` pair anywhere inside `value`. */
export function* entriesDeep(value: unknown): Generator<[string, unknown]> {
  if (Array.isArray(value)) {
    for (const v of value) yield* entriesDeep(v);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      yield [k, v];
      yield* entriesDeep(v);
    }
  }
}
