/**
 * The parent ↔ child plumbing of `bench/rooms.bench.ts`: each bench child (room host, raw ws hub,
 * fleet of members or clients) is a Node process started through tsx with an IPC channel. The
 * parent calls named commands and awaits their answers; children may also send unsolicited
 * notes (delivery progress). Children started here are killed by their PID when the bench ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ProcStats {
  /** process.cpuUsage() user + system, µs. */
  readonly cpuUs: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** V8 heap reserved (used or not), and memory outside it (Buffers, native). */
  readonly heapTotal: number;
  readonly external: number;
  /** process.hrtime.bigint() as a number (ns); CLOCK_MONOTONIC, shared by every process. */
  readonly at: number;
}

export function procStats(): ProcStats {
  const c = process.cpuUsage();
  const m = process.memoryUsage();
  return {
    cpuUs: c.user + c.system,
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    at: Number(process.hrtime.bigint()),
  };
}

type Handler = (args: Record<string, unknown>) => unknown;

/** Child side: answer the parent's commands; `note` sends an unsolicited message. */
export function serveIpc(handlers: Record<string, Handler>): { note(msg: object): void } {
  const send = (msg: object): void => {
    if (process.connected) process.send?.(msg);
  };
  process.on('message', (raw) => {
    const m = raw as { id: number; cmd?: unknown; args?: Record<string, unknown> };
    if (typeof m.cmd !== 'string') return; // a note for another listener
    const h = handlers[m.cmd];
    if (!h) {
      send({ id: m.id, error: `unknown command ${m.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => h(m.args ?? {}))
      .then(
        (result) => send({ id: m.id, result }),
        (err: unknown) => send({ id: m.id, error: err instanceof Error ? err.stack : String(err) }),
      );
  });
  // The parent going away ends the child: nothing of ours is left running.
  process.on('disconnect', () => process.exit(0));
  return { note: send };
}

export interface BenchChild {
  readonly name: string;
  readonly child: ChildProcess;
  call<T>(cmd: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  onNote(fn: (msg: Record<string, unknown>) => void): void;
  /** A fire-and-forget note to the child (no answer). */
  tell(msg: object): void;
  /** Ask it to exit cleanly (writes a --cpu-prof profile), then kill by PID if it lingers. */
  stop(): Promise<void>;
}

export function startChild(
  name: string,
  script: string,
  args: readonly string[] = [],
  nodeFlags: readonly string[] = [],
): BenchChild {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const notes: Array<(m: Record<string, unknown>) => void> = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (raw) => {
    const m = raw as Record<string, unknown> & { id?: number; error?: string; result?: unknown };
    if (typeof m.id === 'number') {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(`${name}: ${m.error}`));
      else p.resolve(m.result);
      return;
    }
    for (const fn of notes) fn(m);
  });
  void exited.then(() => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited`));
    pending.clear();
  });
  return {
    name,
    child,
    call<T>(cmd: string, a: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name}: ${cmd} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.send({ id, cmd, args: a });
      });
    },
    onNote(fn) {
      notes.push(fn);
    },
    tell(msg) {
      if (child.connected) child.send(msg);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.send({ id: 0, cmd: 'exit' });
      const timer = setTimeout(() => {
        if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
      }, 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
