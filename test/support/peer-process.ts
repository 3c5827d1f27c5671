/**
 * Runs real `conclave` processes for integration tests (through tsx, so the tests always run the
 * current source), and waits for the `conclave ready {json}` line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RuntimeFile } from '../../src/cli/data-dir.js';
import { repoRoot } from './paths.js';

export type ReadyInfo = RuntimeFile;

export interface PeerProcess {
  readonly child: ChildProcess;
  readonly ready: ReadyInfo;
  stdout(): string;
  stderr(): string;
  /** Send a signal and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const CLI = join(repoRoot, 'src', 'cli', 'main.ts');

export function cliArgs(args: readonly string[]): string[] {
  return ['--import', 'tsx', CLI, ...args];
}

/** A started `conclave serve` child once it printed its ready line. */
export interface ServeWatch {
  readonly ready: ReadyInfo;
  /** Resolves with the exit code when the child exits. */
  readonly exited: Promise<number | null>;
  readonly stdout: () => string;
  readonly stderr: () => string;
}

/**
 * Collect a `conclave serve` child's output and wait for its `conclave ready {json}` line; a child
 * that exits first, or is not ready within `timeoutMs` (it is then killed), rejects with its output.
 */
export async function watchServe(
  child: ChildProcess,
  label: string,
  timeoutMs: number,
): Promise<ServeWatch> {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = await new Promise<ReadyInfo>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} not ready in ${timeoutMs} ms\n${out}\n${err}`));
    }, timeoutMs);
    child.stdout?.on('data', () => {
      const m = /^conclave ready (.+)$/m.exec(out);
      if (!m?.[1]) return;
      clearTimeout(timer);
      resolve(JSON.parse(m[1]) as ReadyInfo);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with ${String(code)} before ready\n${out}\n${err}`));
    });
  });
  return { ready, exited, stdout: () => out, stderr: () => err };
}

export async function startPeer(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 20_000,
): Promise<PeerProcess> {
  const child = spawn(process.execPath, cliArgs(['serve', ...args]), {
    cwd: repoRoot,
    // Discovery beacons stay on loopback in tests: never onto the host's network.
    env: { ...process.env, CONCLAVE_LOG_LEVEL: 'warn', CONCLAVE_INTERFACE: 'lo', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { ready, exited, stdout, stderr } = await watchServe(child, 'peer', timeoutMs);

  return {
    child,
    ready,
    stdout,
    stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/** Run a CLI client command to completion. */
export function runCli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, cliArgs(args), {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A peer in its own temporary data dir, with its API token, and a way to tidy up. */
export interface TestPeer {
  readonly p: PeerProcess;
  readonly dir: string;
  readonly auth: Record<string, string>;
}

/**
 * Start test peers in temp data dirs (volatile unless `--store` is given) on free ports; `cleanup()`
 * kills them and removes the dirs. Call `cleanup` from `afterEach`.
 */
export function testPeers(): {
  start(
    name: string,
    extra?: readonly string[],
    env?: Record<string, string | undefined>,
  ): Promise<TestPeer>;
  tempDir(tag: string): Promise<string>;
  /** Also stop this process at cleanup. */
  track(p: PeerProcess): PeerProcess;
  cleanup(): Promise<void>;
} {
  const dirs: string[] = [];
  const procs: PeerProcess[] = [];
  const tempDir = async (tag: string): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), `conclave-${tag}-`));
    dirs.push(d);
    return d;
  };
  return {
    tempDir,
    track(p) {
      procs.push(p);
      return p;
    },
    async start(name, extra = [], env = {}) {
      const dir = await tempDir(name);
      const durable = extra.includes('--store');
      const p = await startPeer(
        [
          ...(durable ? [] : ['--volatile']),
          '--data-dir',
          dir,
          '--port',
          '0',
          '--api-port',
          '0',
          '--name',
          name,
          ...extra,
        ],
        env,
      );
      procs.push(p);
      const token = (await readFile(join(dir, 'api-token'), 'utf8')).trim();
      return { p, dir, auth: { authorization: `Bearer ${token}` } };
    },
    async cleanup() {
      for (const p of procs.splice(0)) await p.stop('SIGKILL');
      for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    },
  };
}

/** A multicast group and port of its own, so parallel tests never hear each other's beacons. */
export function uniqueMulticastGroup(): string {
  const r = (): number => 1 + Math.floor(Math.random() * 250);
  return `239.255.${r()}.${r()}:${20000 + Math.floor(Math.random() * 20000)}`;
}
