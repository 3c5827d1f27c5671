/**
 * `conclave log export`: one stream as a self-contained, secret-free JSONL trace (see
 * `src/protocol/trace.codec.ts`) that `conclave log replay --from-file` replays anywhere. Reads
 * a running peer's local API or a stopped peer's log (`--store file:PATH`).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { sanitizeRecord } from '../../actors/sanitize.js';
import { AppError } from '../../errors.js';
import { encodeTraceHeader } from '../../protocol/trace.codec.js';
import { SOFTWARE_VERSION } from '../../protocol/version.js';
import type { RecordedEvent } from '../../store/event-store.js';
import { clientOptions } from '../client-options.js';
import { PAGE_SIZE, readStreamEvents, type SourceOpts } from '../log-source.js';
import { printJson } from '../output.js';

interface ExportOpts extends SourceOpts {
  stream: string;
  out?: string;
}

/** The machines a stream's actors ran, with the version each recorded (from `xstate.init`s). */
function machinesOf(events: readonly RecordedEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) {
    const { machine, machineVersion } = e.meta;
    if (typeof machine === 'string' && !(machine in out))
      out[machine] = typeof machineVersion === 'number' ? machineVersion : 0;
  }
  return out;
}

/**
 * The lines of a trace: the header, then every event passed through the sanitizer again (the
 * recorder already did; this is the second wall, for logs written by older versions too).
 *
 * @example
 * const lines = traceLines('trust', await store.readStream('trust'), new Date());
 */
export function traceLines(
  stream: string,
  events: readonly RecordedEvent[],
  exportedAt: Date,
): string[] {
  const machines = machinesOf(events);
  const [machine = null] = Object.keys(machines);
  const header = encodeTraceHeader({
    stream,
    machine,
    machineVersion: machine === null ? null : (machines[machine] ?? null),
    machines,
    exportedAt: exportedAt.toISOString(),
    software: { name: 'conclave', version: SOFTWARE_VERSION },
    events: events.length,
  });
  const lines = [header];
  for (const e of events) {
    lines.push(
      JSON.stringify({
        stream: e.stream,
        version: e.version,
        position: e.position,
        type: e.type,
        data: sanitizeRecord(e.data),
        meta: sanitizeRecord(e.meta),
      }),
    );
  }
  return lines;
}

async function writeLines(out: Writable, lines: readonly string[]): Promise<number> {
  let bytes = 0;
  for (const line of lines) {
    const chunk = `${line}\n`;
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  return bytes;
}

/** Write to a temp file and rename, so a cut-off export never sits under the final name. */
async function writeFileAtomically(path: string, lines: readonly string[]): Promise<number> {
  const tmp = `${path}.${process.pid}.tmp`;
  const file = createWriteStream(tmp, { mode: 0o600 });
  try {
    await once(file, 'open');
    const bytes = await writeLines(file, lines);
    file.end();
    await once(file, 'finish');
    await rename(tmp, path);
    return bytes;
  } catch (err) {
    file.destroy();
    await rm(tmp, { force: true });
    throw new AppError('ERR_INVALID_ARGUMENT', `cannot write ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Progress on stderr for big streams only (more than one page), so stdout stays the trace. */
function progressReporter(stream: string): { tick(n: number): void; done(): void } {
  let isShown = false;
  const isTty = process.stderr.isTTY === true;
  return {
    tick(n) {
      if (n < PAGE_SIZE) return;
      isShown = true;
      process.stderr.write(
        `${isTty ? '\r' : ''}export ${stream}: ${n} events read…${isTty ? '' : '\n'}`,
      );
    },
    done() {
      if (isShown && isTty) process.stderr.write('\n');
    },
  };
}

export function registerExportCommand(log: Command): void {
  clientOptions(
    log
      .command('export')
      .summary('write a secret-free trace (JSONL) of a stream that someone else can replay')
      .requiredOption('--stream <name>', 'the stream to export, e.g. session:<peer>:<sid>')
      .option('-o, --out <file>', 'write the trace to this file (mode 0600) instead of stdout')
      .option('--store <spec>', 'read a store directly (a stopped peer): file:PATH | mongodb://…')
      .addHelpText(
        'after',
        `
The first line is a header (format, stream, machine and version, export time, software
version); every other line is one recorded event, sanitized again on the way out. Keys,
passwords and plaintext are never in the log, so never in a trace. With --out and --json,
a summary {stream, machine, events, file, bytes} goes to stdout.

Examples:
  $ conclave log export --stream session:3f9a…:Qm… --out failed-handshake.jsonl
  $ conclave log export --stream trust --store file:/var/lib/conclave/log > trust.jsonl
  $ conclave log replay --from-file failed-handshake.jsonl     # on any machine`,
      ),
  ).action(async (o: ExportOpts) => {
    const progress = progressReporter(o.stream);
    const events = await readStreamEvents(o, o.stream, (n) => progress.tick(n));
    progress.done();
    if (events.length === 0) {
      throw new AppError(
        'ERR_NOT_FOUND',
        `no events in stream ${o.stream} (list streams with: conclave log --json)`,
      );
    }
    const lines = traceLines(o.stream, events, new Date());
    if (o.out === undefined) {
      await writeLines(process.stdout, lines);
      return;
    }
    const bytes = await writeFileAtomically(o.out, lines);
    const machine = typeof events[0]?.meta.machine === 'string' ? events[0].meta.machine : null;
    if (o.json) printJson({ stream: o.stream, machine, events: events.length, file: o.out, bytes });
    else process.stderr.write(`wrote ${events.length} events of ${o.stream} to ${o.out}\n`);
  });
}
