/**
 * HTTP client for talking to other peers: a keep-alive agent (global fetch caps near 1k req/s
 * here), JSON in and out, bounded response size, timeouts, and errors with stable codes.
 */
import { Agent, request } from 'node:http';
import { AppError } from '../../errors.js';

const agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: 30_000 });

export interface PeerResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface PeerRequestOptions {
  readonly timeoutMs?: number;
  /** Largest response body accepted (default 1 MiB). */
  readonly maxBytes?: number;
}

export function peerRequest(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  options: PeerRequestOptions = {},
): Promise<PeerResponse> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const maxBytes = options.maxBytes ?? 1 << 20;
  let url: URL;
  try {
    url = new URL(path, baseUrl);
  } catch {
    return Promise.reject(new AppError('ERR_INVALID_ARGUMENT', `not a peer URL: ${baseUrl}`));
  }
  if (url.protocol !== 'http:') {
    return Promise.reject(
      new AppError('ERR_INVALID_ARGUMENT', `peer URLs are http://…, got ${url.protocol}`),
    );
  }
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      agent,
      headers: {
        accept: 'application/json',
        ...(payload
          ? { 'content-type': 'application/json', 'content-length': String(payload.length) }
          : {}),
      },
    });
    /** Every failure is an AppError with a stable code: ours as they are, the network's mapped. */
    const fail = (e: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      if (e instanceof AppError) reject(e);
      else
        reject(
          new AppError(
            'ERR_PEER_UNREACHABLE',
            `cannot reach ${url.origin} (${e.code ?? e.message})`,
            { cause: e },
          ),
        );
    };
    const timer = setTimeout(() => {
      req.destroy(
        new AppError('ERR_TIMEOUT', `no answer from ${url.origin} within ${timeoutMs} ms`),
      );
    }, timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) {
          req.destroy(
            new AppError(
              'ERR_INVALID_MESSAGE',
              `answer from ${url.origin} larger than ${maxBytes} bytes`,
            ),
          );
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = undefined;
        if (text.length > 0) {
          try {
            parsed = JSON.parse(text);
          } catch {
            reject(new AppError('ERR_INVALID_MESSAGE', `answer from ${url.origin} is not JSON`));
            return;
          }
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      // The connection dropped mid-answer (`aborted`), or our own destroy above.
      res.on('error', fail);
    });
    req.on('error', fail);
    if (payload) req.write(payload);
    req.end();
  });
}
