/**
 * `conclave log export` and `conclave log replay --from-file`: a trace exported from a running
 * peer (local API) and from its stopped log (`--store file:`) holds the same events, replays on
 * "another machine" (no peer, no data dir) to the same result as the log itself, and refuses
 * cut-off or foreign files. Big exports report progress on stderr; old logs are re-sanitized.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { replayStream } from '../../src/actors/replay.js';
import { traceLines } from '../../src/cli/commands/log-export.js';
import { SESSION_MACHINE_VERSION } from '../../src/machines/session.machine.js';
import { decodeTrace } from '../../src/protocol/trace.codec.js';
import { createFileEventStore } from '../../src/store/file-event-store.js';
import { readAllStreams, replayCli, startDurablePeer } from '../support/durable-log.js';
import { http } from '../support/http.js';
import { runCli, testPeers } from '../support/peer-process.js';

const lab = testPeers();
const dirs: string[] = [];
afterEach(async () => {
  await lab.cleanup();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'conclave-export-'));
  dirs.push(d);
  return d;
}

/** Lines of a trace without the export time, which differs between two exports. */
const comparable = (text: string): string[] =>
  text
    .trim()
    .split('\n')
    .map((l, i) => (i === 0 ? JSON.stringify({ ...JSON.parse(l), exportedAt: null }) : l));

/** `conclave log export --stream S --store LOG` to stdout. */
const exportOffline = (stream: string, log: string) =>
  runCli(['log', 'export', '--stream', stream, '--store', log]);

/** Replay "on another machine": no running peer, a data dir that does not exist. */
const elsewhere = ['--data-dir', '/nonexistent/conclave'];

describe('conclave log export', () => {
  it('exports a stream from a running peer and from its stopped log; the trace replays anywhere', async () => {
    const bob = await startDurablePeer(lab, 'bob', ['--no-discovery']);
    const alice = await startDurablePeer(lab, 'alice', ['--no-discovery']);
    const c = await runCli(['connect', bob.p.ready.peerUrl, '--data-dir', alice.dir, '--json']);
    expect(c.code, c.stderr).toBe(0);
    const { peerId, sessionId } = JSON.parse(c.stdout);
    const ping = await http(`${alice.p.ready.apiUrl}/api/peers/${peerId}/ping`, {
      method: 'POST',
      headers: { ...alice.auth, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(ping.status).toBe(200);
    const stream = `session:${peerId}:${sessionId}`;
    const out = join(await scratch(), 'session.jsonl');

    const online = await runCli([
      'log',
      'export',
      '--stream',
      stream,
      '--data-dir',
      alice.dir,
      '--out',
      out,
      '--json',
    ]);
    expect(online.code, online.stderr).toBe(0);
    const summary = JSON.parse(online.stdout);
    expect(summary).toMatchObject({ stream, machine: 'session', file: out });
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const text = await readFile(out, 'utf8');
    expect(summary.bytes).toBe(Buffer.byteLength(text));
    const [header, ...events] = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(header).toMatchObject({
      format: 'conclave-trace',
      formatVersion: 1,
      stream,
      machine: 'session',
      machineVersion: SESSION_MACHINE_VERSION,
      machines: { session: SESSION_MACHINE_VERSION },
      software: { name: 'conclave', version: expect.any(String) },
      events: events.length,
    });
    expect(Date.parse(header.exportedAt)).not.toBeNaN();
    expect(events.length).toBe(summary.events);
    expect(events[0]).toMatchObject({ stream, version: 1, type: 'xstate.init' });

    const toStdout = await runCli(['log', 'export', '--stream', stream, '--data-dir', alice.dir]);
    expect(toStdout.code, toStdout.stderr).toBe(0);
    expect(comparable(toStdout.stdout)).toEqual(comparable(text));

    expect(await alice.p.stop()).toBe(0);
    const offline = await exportOffline(stream, alice.log);
    expect(offline.code, offline.stderr).toBe(0);
    // the stopped peer's log holds what the running one served, and one more: the close at stop
    const offlineLines = comparable(offline.stdout);
    expect(offlineLines.slice(1, events.length + 1)).toEqual(comparable(text).slice(1));
    expect(JSON.parse(offlineLines.at(-1)!).type).toBe('session.close');
    const stoppedTrace = join(await scratch(), 'stopped.jsonl');
    await writeFile(stoppedTrace, offline.stdout);

    const fromFile = await runCli([
      'log',
      'replay',
      '--from-file',
      stoppedTrace,
      '--json',
      ...elsewhere,
    ]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const fromLog = await replayCli(stream, alice.log, 'json');
    const a = JSON.parse(fromFile.stdout);
    const b = JSON.parse(fromLog.stdout);
    expect(a.mismatches).toBe(0);
    expect(a.trace).toMatchObject({ stream, format: 'conclave-trace' });
    const { trace: _t, ...rest } = a;
    expect(rest).toEqual(b);

    const textReplay = await runCli(['log', 'replay', '--from-file', stoppedTrace, ...elsewhere]);
    expect(textReplay.code, textReplay.stderr).toBe(0);
    expect(textReplay.stdout).toMatch(/^trace exported .* by conclave /);
    expect(textReplay.stdout).toContain('every replayed state matches the recorded one');

    // the stream named with --from-file must be the one in the file
    const wrong = await runCli([
      'log',
      'replay',
      '--from-file',
      stoppedTrace,
      '--stream',
      'trust',
      ...elsewhere,
    ]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('ERR_INVALID_ARGUMENT');

    // every stream of the stopped log exports and replays from its trace (in-process: same code)
    for (const [s, events] of await readAllStreams(alice.log)) {
      const decoded = decodeTrace(`${traceLines(s, events, new Date()).join('\n')}\n`);
      if (!decoded.ok) throw new Error(`${s}: ${decoded.error.detail}`);
      expect(replayStream(s, decoded.value.events)).toEqual(replayStream(s, events));
      expect(replayStream(s, decoded.value.events).mismatches, s).toBe(0);
    }
  }, 90_000);

  it('refuses a cut-off trace, saying where', async () => {
    const dir = await scratch();
    const storePath = join(dir, 'log');
    const store = await createFileEventStore(storePath);
    const meta = { recordedAt: new Date().toISOString(), machine: 'trust', machineVersion: 1 };
    await store.append('trust', [
      { type: 'xstate.init', data: { input: {} }, meta: { ...meta, from: null, to: 'running' } },
    ]);
    await store.close();
    const good = await exportOffline('trust', `file:${storePath}`);
    expect(good.code, good.stderr).toBe(0);
    const [headerLine = ''] = good.stdout.trim().split('\n');
    // one refusal through the CLI; the others are unit tests of the codec
    const file = join(dir, 'cut.jsonl');
    await writeFile(file, `${headerLine}\n`);
    const r = await runCli(['log', 'replay', '--from-file', file, ...elsewhere]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /cut\.jsonl:1: the header announces 1 events but the file holds 0 \(cut off\?\)/,
    );
    expect(r.stderr).toContain('ERR_INVALID_ARGUMENT');
  }, 60_000);

  it('says what is missing: an unknown stream, a log that is not there (and creates none)', async () => {
    const dir = await scratch();
    const missing = join(dir, 'no-log-here');
    const r = await exportOffline('trust', `file:${missing}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_NOT_FOUND');
    await expect(stat(missing)).rejects.toThrow();

    const storePath = join(dir, 'log');
    await (await createFileEventStore(storePath)).close();
    const none = await exportOffline('session:nobody', `file:${storePath}`);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no events in stream session:nobody');

    const help = await runCli(['log', 'export', '--help']);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('--out');
  }, 60_000);

  it('shows progress on stderr for a big stream, keeps stdout the trace, and re-sanitizes old logs', async () => {
    const storePath = join(await scratch(), 'log');
    const store = await createFileEventStore(storePath);
    const meta = (to: string) => ({
      recordedAt: new Date().toISOString(),
      machine: 'peer',
      from: null,
      to,
    });
    const batch = Array.from({ length: 12_000 }, (_, i) => ({
      type: 'legacy.event',
      // a log written before the sanitizer knew better: the export must not pass these on
      data: { n: i, password: 'hunter2-must-not-leak', nested: { privateKey: 'pk-must-not-leak' } },
      meta: meta('running'),
    }));
    await store.append('peer:old', batch);
    await store.close();
    const r = await exportOffline('peer:old', `file:${storePath}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/export peer:old: 10000 events read/);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(12_001);
    expect(JSON.parse(lines[0]!).events).toBe(12_000);
    expect(r.stdout).not.toContain('must-not-leak');
    expect(JSON.parse(lines[1]!).data).toEqual({
      n: 0,
      password: '[redacted]',
      nested: { privateKey: '[redacted]' },
    });
  }, 60_000);
});
