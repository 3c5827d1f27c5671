/**
 * Real peers with durable file logs, and the ways tests read those logs after the peers stopped:
 * through the CLI (`conclave log replay --store file:…`) and in-process (every stream).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { replayStream, type ReplayResult } from '../../src/actors/replay.js';
import type { RecordedEvent } from '../../src/store/event-store.js';
import { openEventStore } from '../../src/store/open-event-store.js';
import { runCli, startPeer, type PeerProcess, type testPeers } from './peer-process.js';

export interface DurablePeer {
  readonly p: PeerProcess;
  readonly dir: string;
  /** `file:<dir>/log`, for `--store`. */
  readonly log: string;
  readonly auth: Record<string, string>;
}

/**
 * A peer with a file keystore and a file log at `<data dir>/log` (other tests rely on that
 * layout), in a temp data dir of `lab`. `lab.start` cannot place the log inside the dir it makes.
 */
export async function startDurablePeer(
  lab: ReturnType<typeof testPeers>,
  name: string,
  extra: readonly string[] = [],
  env: Record<string, string | undefined> = {},
): Promise<DurablePeer> {
  const dir = await lab.tempDir(name);
  const log = `file:${join(dir, 'log')}`;
  const p = lab.track(
    await startPeer(
      [
        '--data-dir',
        dir,
        '--store',
        log,
        '--port',
        '0',
        '--api-port',
        '0',
        '--name',
        name,
        ...extra,
      ],
      env,
    ),
  );
  const token = (await readFile(join(dir, 'api-token'), 'utf8')).trim();
  return { p, dir, log, auth: { authorization: `Bearer ${token}` } };
}

/** Every stream of a (stopped peer's) log with its events, read in-process. */
export async function readAllStreams(log: string): Promise<Map<string, RecordedEvent[]>> {
  const store = await openEventStore(log);
  try {
    const out = new Map<string, RecordedEvent[]>();
    for (const { stream } of await store.listStreams())
      out.set(stream, await store.readStream(stream));
    return out;
  } finally {
    await store.close();
  }
}

/** Replay every stream of a log in-process (the function the CLI runs). */
export async function replayAll(log: string): Promise<ReplayResult[]> {
  const streams = await readAllStreams(log);
  return [...streams].map(([stream, events]) => replayStream(stream, events));
}

/** `conclave log replay --stream S --store LOG` (text, or parsed `--json`). */
export async function replayCli(
  stream: string,
  log: string,
  mode: 'json' | 'text',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli([
    'log',
    'replay',
    '--stream',
    stream,
    '--store',
    log,
    ...(mode === 'json' ? ['--json'] : []),
  ]);
}
