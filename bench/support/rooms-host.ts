/**
 * The room host of `bench/rooms.bench.ts`, in its own process: a real peer started by `servePeer`
 * (what `conclave serve --volatile --no-discovery --host 127.0.0.1` runs), driven through its own
 * local API (create a room, make invite codes) and reporting its CPU time and memory over IPC.
 * Run it with `--cpu-prof` to profile the host side of the room traffic.
 */
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { pino } from 'pino';
import { servePeer } from '../../src/cli/serve.js';
import { roomHostCommands } from './rooms-cli-host.js';
import { benchServeConfig } from './rooms-peer.js';
import { procStats, serveIpc } from './rooms-ipc.js';

let token = '';
const peer = await servePeer(benchServeConfig('bench-host'), {
  stdout: () => undefined,
  stderr: (line) => {
    const m = /^conclave api-token (\S+)/.exec(line);
    if (m?.[1]) token = m[1];
  },
  logger: pino({ level: 'silent' }),
});

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(new URL(path, peer.ready.apiUrl), {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path} → ${r.status} ${text}`);
  return JSON.parse(text) as T;
}

serveIpc({
  info: () => ({ peerUrl: peer.ready.peerUrl, peerId: peer.ready.peerId }),
  ...roomHostCommands(api),
  stats: () => procStats(),
  heapSnapshot: (a) =>
    writeHeapSnapshot(join(String(a.dir), `rooms-host-${process.pid}.heapsnapshot`)),
  async exit() {
    await peer.shutdown('bench over');
    setImmediate(() => process.exit(0));
  },
});
