/**
 * How CLI commands reach a running peer: `--api URL --token T`, or `CONCLAVE_API`/`CONCLAVE_TOKEN`,
 * or the `runtime.json` and `api-token` in `--data-dir` (default `~/.conclave`).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { AppError, type ErrorCode } from '../errors.js';
import { readRuntimeFile, readToken } from './data-dir.js';

export interface ApiTarget {
  readonly apiUrl: string;
  readonly token: string;
}

export interface TargetOptions {
  readonly api?: string;
  readonly token?: string;
  readonly dataDir: string;
}

export async function resolveTarget(o: TargetOptions): Promise<ApiTarget> {
  if (o.api !== undefined) {
    const token = o.token ?? (await readToken(o.dataDir));
    if (token === undefined) {
      throw new AppError(
        'ERR_UNAUTHORIZED',
        `no token: pass --token (or CONCLAVE_TOKEN), or --data-dir of the peer`,
      );
    }
    return { apiUrl: o.api.replace(/\/+$/, ''), token };
  }
  const runtime = await readRuntimeFile(o.dataDir);
  if (runtime === undefined) {
    throw new AppError(
      'ERR_NOT_RUNNING',
      `no running peer found in ${o.dataDir} (start one with "conclave serve --data-dir ${o.dataDir}", or pass --api URL --token T)`,
    );
  }
  const token = o.token ?? (await readToken(o.dataDir));
  if (token === undefined) throw new AppError('ERR_UNAUTHORIZED', `no api-token in ${o.dataDir}`);
  return { apiUrl: runtime.apiUrl, token };
}

function send(
  target: ApiTarget,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<IncomingMessage> {
  const url = new URL(path, `${target.apiUrl}/`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method,
      headers: {
        authorization: `Bearer ${target.token}`,
        ...(body !== undefined
          ? {
              'content-type': 'application/json',
              'content-length': String(Buffer.byteLength(body)),
            }
          : {}),
        ...headers,
      },
    });
    req.on('response', resolve);
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        new AppError(
          'ERR_NOT_RUNNING',
          `cannot reach the peer at ${target.apiUrl} (${err.code ?? err.message}); is "conclave serve" running?`,
          { cause: err },
        ),
      );
    });
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function toError(res: IncomingMessage): Promise<AppError> {
  const text = await readBody(res);
  try {
    const p = JSON.parse(text) as { code?: string; detail?: string };
    return new AppError(
      (p.code ?? 'ERR_INTERNAL') as ErrorCode,
      p.detail ?? `HTTP ${res.statusCode ?? 0}`,
    );
  } catch {
    return new AppError('ERR_INTERNAL', `HTTP ${res.statusCode ?? 0} from the peer`);
  }
}

export async function apiJson<T>(
  target: ApiTarget,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await send(
    target,
    method,
    path,
    { accept: 'application/json' },
    body === undefined ? undefined : JSON.stringify(body),
  );
  if ((res.statusCode ?? 500) >= 400) throw await toError(res);
  const text = await readBody(res);
  return (text.length > 0 ? JSON.parse(text) : undefined) as T;
}

/** Follow an SSE endpoint; calls `onEvent` for each `data:` payload until the stream ends. */
export async function apiFollow(
  target: ApiTarget,
  path: string,
  onEvent: (data: unknown, id: string | undefined) => void,
): Promise<void> {
  const res = await send(target, 'GET', path, { accept: 'text/event-stream' });
  if ((res.statusCode ?? 500) >= 400) throw await toError(res);
  res.setEncoding('utf8');
  let buf = '';
  for await (const chunk of res) {
    buf += chunk as string;
    let idx: number;
    while ((idx = buf.indexOf('\n\n')) !== -1) {
      const frame = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      let id: string | undefined;
      const data: string[] = [];
      for (const line of frame.split('\n')) {
        if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) onEvent(JSON.parse(data.join('\n')), id);
    }
  }
}
