/**
 * Peers in a netns lab: `conclave serve` started inside a node namespace, and JSON requests made
 * from inside a namespace (the peers' local APIs listen on that namespace's loopback).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabNode, NetnsLab } from './netns.js';
import { cliArgs, watchServe, type ReadyInfo } from './peer-process.js';

/** Any-method JSON request from inside `ns` (e.g. a POST to a peer's local API there), via node. */
export async function nsRequestJson(
  lab: NetnsLab,
  ns: string,
  method: 'GET' | 'POST',
  url: string,
  headers: Record<string, string> = {},
  body?: unknown,
  timeoutMs = 20_000,
): Promise<{ status: number; json: unknown }> {
  const script =
    'const [m,u,h,b,t]=process.argv.slice(1);' +
    "fetch(u,{method:m,headers:{...JSON.parse(h),...(b?{'content-type':'application/json'}:{})},body:b||undefined,signal:AbortSignal.timeout(Number(t))})" +
    '.then(async r=>process.stdout.write(JSON.stringify({status:r.status,text:await r.text()})))' +
    '.catch(e=>{process.stdout.write(JSON.stringify({status:0,text:String(e)}))})';
  const args = [
    '-e',
    script,
    method,
    url,
    JSON.stringify(headers),
    body === undefined ? '' : JSON.stringify(body),
    String(timeoutMs),
  ];
  const r = await lab.run(ns, process.execPath, args);
  const out = JSON.parse(r.stdout || '{"status":0,"text":""}') as { status: number; text: string };
  let json: unknown;
  try {
    json = JSON.parse(out.text);
  } catch {
    json = out.text;
  }
  return { status: out.status, json };
}

/** GET a JSON URL from inside `ns` (e.g. a peer's local API on 127.0.0.1 there), via node. */
export function nsGetJson(
  lab: NetnsLab,
  ns: string,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  return nsRequestJson(lab, ns, 'GET', url, headers, undefined, 3_000);
}

export interface NsPeer {
  readonly node: LabNode;
  readonly ready: ReadyInfo;
  readonly child: ChildProcess;
  stderr(): string;
  /** Send a signal and wait (bounded) for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Run `conclave serve` inside a lab namespace and wait for its ready line. */
export async function startNsPeer(
  lab: NetnsLab,
  node: LabNode,
  args: readonly string[],
  timeoutMs = 20_000,
): Promise<NsPeer> {
  const child = lab.exec(node.ns, process.execPath, cliArgs(['serve', ...args]), {
    ...process.env,
    CONCLAVE_LOG_LEVEL: 'warn',
  });
  const { ready, exited, stderr } = await watchServe(child, `peer in ${node.ns}`, timeoutMs);
  return {
    node,
    ready,
    child,
    stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** A lab peer as the suites start it: its data directory and its local API token. */
export interface LabPeer extends NsPeer {
  readonly dir: string;
  readonly token: string;
}

/**
 * Start `conclave serve --volatile` on `node`: peer API on 7400, local API on 7401, bound to the
 * node's veth and address, named `name`, plus `extra` flags. Its data directory goes into `dirs`
 * before the peer starts, so the caller removes it even when the start fails.
 */
export async function startLabPeer(
  lab: NetnsLab,
  node: LabNode,
  name: string,
  dirs: string[],
  extra: readonly string[] = [],
): Promise<LabPeer> {
  const dir = await mkdtemp(join(tmpdir(), 'conclave-netns-'));
  dirs.push(dir);
  const peer = await startNsPeer(lab, node, [
    '--volatile',
    '--data-dir',
    dir,
    '--port',
    '7400',
    '--api-port',
    '7401',
    '--interface',
    node.iface,
    '--host',
    node.address,
    '--name',
    name,
    ...extra,
  ]);
  const token = (await readFile(join(dir, 'api-token'), 'utf8')).trim();
  return { ...peer, dir, token };
}
