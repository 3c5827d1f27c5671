/**
 * Runs real `conclave` processes for integration tests (through tsx, so the tests always run the
 * current source), and waits for the `conclave ready {json}` line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  const ready = await new Promise<ReadyInfo>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`peer not ready in ${timeoutMs} ms\n${out}\n${err}`)),
      timeoutMs,
    );
    const check = (): void => {
      const m = /^conclave ready (.+)$/m.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(JSON.parse(m[1]) as ReadyInfo);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`peer exited with ${String(code)} before ready\n${out}\n${err}`));
    });
  });

  return {
    child,
    ready,
    stdout: () => out,
    stderr: () => err,
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
