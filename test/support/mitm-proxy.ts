/**
 * A man in the middle for tests: an HTTP server on loopback that forwards everything to a real
 * peer, and lets a test rewrite JSON bodies on the way (in either direction) or answer a path
 * itself. WebSocket upgrades are piped through untouched. This is how a test provokes what only
 * an attacker on the path could do (a rewritten suite, a broken signature, a stale timestamp)
 * between two real peer processes.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

type Json = Record<string, unknown>;

export interface MitmRules {
  /** Rewrite a request body before it reaches the real peer. */
  request?: (path: string, body: Json) => Json;
  /** Rewrite the real peer's answer before the caller sees it. */
  response?: (path: string, body: Json, status: number) => Json;
  /** Answer this request without asking the real peer (undefined: forward it). */
  answer?: (path: string, body: Json) => { status: number; body: unknown } | undefined;
}

export interface MitmProxy {
  readonly url: string;
  /** Replace the rules (the proxy starts transparent). */
  set(rules: MitmRules): void;
  /** Forward to another peer from now on (as when another peer takes over an address). */
  retarget(url: string): void;
  close(): Promise<void>;
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function parse(buf: Buffer): Json | undefined {
  try {
    const v = JSON.parse(buf.toString('utf8')) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** Start a proxy in front of `targetUrl` (a peer API base URL). */
export async function startMitmProxy(targetUrl: string): Promise<MitmProxy> {
  let target = new URL(targetUrl);
  let rules: MitmRules = {};
  const sockets = new Set<Socket>();

  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = req.url ?? '/';
      let body = await readAll(req);
      const json = parse(body);
      const own = json ? rules.answer?.(path, json) : undefined;
      if (own) {
        res.writeHead(own.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(own.body));
        return;
      }
      if (json && rules.request) body = Buffer.from(JSON.stringify(rules.request(path, json)));
      const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
      const upstream = request(
        { host: target.hostname, port: target.port, path, method: req.method, headers },
        (up) => {
          void readAll(up).then((raw) => {
            const answer = parse(raw);
            const out =
              answer && rules.response
                ? Buffer.from(JSON.stringify(rules.response(path, answer, up.statusCode ?? 0)))
                : raw;
            const h = { ...up.headers, 'content-length': String(out.length) };
            res.writeHead(up.statusCode ?? 502, h);
            res.end(out);
          });
        },
      );
      upstream.on('error', () => {
        res.writeHead(502).end();
      });
      upstream.end(body);
    })();
  });

  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, client: Socket, head: Buffer) => {
    const up = connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const k = req.rawHeaders[i] ?? '';
        lines.push(
          `${k}: ${k.toLowerCase() === 'host' ? target.host : (req.rawHeaders[i + 1] ?? '')}`,
        );
      }
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    set(r) {
      rules = r;
    },
    retarget(url) {
      target = new URL(url);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
