/**
 * Listening HTTP servers with the timeouts that keep slow or stuck clients from holding a peer
 * (slowloris), and a graceful close that finishes in-flight requests before it cuts connections.
 *
 * @example
 * const api = await listenHttp(app, { host: '127.0.0.1', port: 0 });
 * console.log(api.url); // http://127.0.0.1:41234
 * await api.close();
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '../../errors.js';

export interface ListenInit {
  readonly host: string;
  readonly port: number;
  /** Name used in error messages, e.g. "peer API". */
  readonly label?: string;
}

export interface HttpListener {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  /** Stop accepting, let in-flight requests finish for up to `graceMs`, then cut the rest. */
  close(graceMs?: number): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

export async function listenHttp(
  handler: RequestListener,
  init: ListenInit,
): Promise<HttpListener> {
  const server = createServer(
    {
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16_384,
    },
    handler,
  );
  server.maxHeadersCount = 64;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const label = init.label ?? 'server';
      const what = `${label} cannot listen on ${init.host}:${init.port}`;
      if (err.code === 'EADDRINUSE') {
        reject(
          new AppError(
            'ERR_INVALID_CONFIG',
            `${what}: the port is in use (choose another or pass 0 for any free port)`,
            { cause: err },
          ),
        );
      } else if (err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES') {
        reject(
          new AppError(
            'ERR_INVALID_CONFIG',
            `${what}: ${err.code} (check the address and permissions)`,
            { cause: err },
          ),
        );
      } else {
        reject(new AppError('ERR_INVALID_CONFIG', `${what}: ${err.message}`, { cause: err }));
      }
    };
    server.once('error', onError);
    server.listen(init.port, init.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    server,
    port,
    url: `http://${urlHost(init.host)}:${port}`,
    close(graceMs = 3_000) {
      closing ??= new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), graceMs);
        cut.unref();
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
