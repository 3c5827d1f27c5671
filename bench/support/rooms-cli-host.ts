/**
 * The room host of `bench/rooms.bench.ts` as users run it: `node dist/cli/main.js serve
 * --volatile` (what `npm start` runs, compiled, no tsx), driven through its local API. It answers
 * the same commands as the IPC host (`rooms-host.ts`) so the bench does not care which it has:
 * its CPU time and memory come from its own `/api/metrics` (`process_*`, `nodejs_*`), a heap
 * snapshot from `--heapsnapshot-signal`. `dist/` must be built from the current sources
 * (`ensureBuilt`).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchChild, ProcStats } from './rooms-ipc.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Api = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/** The room commands both bench hosts answer, over the host's local API. */
export function roomHostCommands(
  api: Api,
): Record<string, (a: Record<string, unknown>) => Promise<unknown>> {
  return {
    async create(a) {
      const room = await api<{ roomId: string }>('POST', '/api/rooms', {
        name: String(a.name),
        capacity: 1000,
      });
      return room.roomId;
    },
    async invites(a) {
      const codes: string[] = [];
      for (let i = 0; i < Number(a.n); i++) {
        const r = await api<{ code: string }>('POST', `/api/rooms/${String(a.roomId)}/invites`);
        codes.push(r.code);
      }
      return codes;
    },
    async members(a) {
      const list = await api<unknown[]>('GET', `/api/rooms/${String(a.roomId)}/members`);
      return list.length;
    },
  };
}

/** Build `dist/` (tsc) so the host runs the code under test, as `npm start` does. */
export function ensureBuilt(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

/**
 * Start `conclave serve --volatile --no-discovery --host 127.0.0.1` on free ports.
 *
 * @example
 * const host = await startCliHost('room-host', []);
 * const roomId = await host.call<string>('create', { name: 'bench' });
 */
export async function startCliHost(
  name: string,
  nodeFlags: readonly string[],
  heapDir?: string,
): Promise<BenchChild> {
  const flags = [...nodeFlags, ...(heapDir ? ['--heapsnapshot-signal=SIGUSR2'] : [])];
  const child = spawn(
    process.execPath,
    [
      ...flags,
      join(ROOT, 'dist/cli/main.js'),
      'serve',
      '--volatile',
      '--no-discovery',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--api-port',
      '0',
      '--name',
      name,
      '--log-level',
      'silent',
    ],
    { cwd: heapDir ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const { ready, token } = await new Promise<{
    ready: { peerUrl: string; peerId: string; apiUrl: string };
    token: string;
  }>((resolve, reject) => {
    let out = '';
    let err = '';
    let tok = '';
    const check = (): void => {
      const m = /^conclave ready (\{.*\})$/m.exec(out);
      if (m?.[1] && tok !== '') resolve({ ready: JSON.parse(m[1]) as never, token: tok });
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      check();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const t = /^conclave api-token (\S+)$/m.exec(err);
      if (t?.[1]) tok = t[1];
      check();
    });
    void exited.then(() => reject(new Error(`${name} exited before it was ready: ${err}`)));
  });

  async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await fetch(new URL(path, ready.apiUrl), {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${name}: ${method} ${path} → ${r.status} ${text}`);
    return (text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text) as T;
  }

  async function stats(): Promise<ProcStats> {
    const text = await api<string>('GET', '/api/metrics');
    const at = Number(process.hrtime.bigint());
    const value = (re: RegExp): number => {
      const m = re.exec(text);
      if (!m?.[1]) throw new Error(`${name}: /api/metrics has no ${re.source}`);
      return Number(m[1]);
    };
    return {
      cpuUs: value(/^process_cpu_seconds_total (\S+)$/m) * 1e6,
      rss: value(/^process_resident_memory_bytes (\S+)$/m),
      heapUsed: value(/^nodejs_heap_size_bytes\{kind="used"\} (\S+)$/m),
      heapTotal: value(/^nodejs_heap_size_bytes\{kind="total"\} (\S+)$/m),
      external: value(/^nodejs_external_memory_bytes (\S+)$/m),
      at,
    };
  }

  async function heapSnapshot(dir: string): Promise<string> {
    const before = new Set(readdirSync(dir));
    child.kill('SIGUSR2');
    for (let i = 0; i < 3000; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const fresh = readdirSync(dir).filter((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
      if (fresh[0]) {
        await new Promise((r) => setTimeout(r, 2000)); // let the writer finish the file
        return join(dir, fresh[0]);
      }
    }
    throw new Error(`${name}: no heap snapshot appeared in ${dir}`);
  }

  const commands: Record<string, (a: Record<string, unknown>) => Promise<unknown>> = {
    info: () => Promise.resolve({ peerUrl: ready.peerUrl, peerId: ready.peerId }),
    ...roomHostCommands(api),
    stats: () => stats(),
    heapSnapshot: (a) => heapSnapshot(String(a.dir)),
  };

  return {
    name,
    child,
    call<T>(cmd: string, a: Record<string, unknown> = {}): Promise<T> {
      const run = commands[cmd];
      if (!run) return Promise.reject(new Error(`${name}: no command ${cmd}`));
      return run(a) as Promise<T>;
    },
    onNote: () => undefined,
    tell: () => undefined,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (child.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
      }, 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
