/**
 * `conclave log`: the raw event log, from a running peer (local API) or straight from a store
 * (`--store file:PATH`), e.g. of a stopped peer.
 */
import { Option, type Command } from 'commander';
import { takeUntil, fromEvent, tap, lastValueFrom } from 'rxjs';
import { AppError } from '../../errors.js';
import type { RecordedEvent } from '../../store/event-store.js';
import { openEventStore } from '../../store/open-event-store.js';
import { apiFollow, apiJson, resolveTarget } from '../api-client.js';
import { clientOptions } from '../client-options.js';
import { formatLogEntry } from '../format.js';
import { droppedRangeOf, reportDropped, type LogPage } from '../log-source.js';
import { printLine } from '../output.js';
import { registerExportCommand } from './log-export.js';
import { registerReplayCommands } from './log-replay.js';

interface LogOpts {
  dataDir: string;
  api?: string;
  token?: string;
  json: boolean;
  stream?: string;
  after: string;
  limit: string;
  follow?: boolean;
  store?: string;
}

function nonNegativeInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new AppError('ERR_INVALID_ARGUMENT', `${name} must be a whole number ≥ 0`);
  return n;
}

function printer(json: boolean): (e: RecordedEvent) => void {
  return (e) => printLine(json ? JSON.stringify(e) : formatLogEntry(e));
}

async function fromStore(spec: string, o: LogOpts, after: number, limit: number): Promise<void> {
  const store = await openEventStore(spec);
  const print = printer(o.json);
  try {
    const matches = (e: RecordedEvent): boolean => o.stream === undefined || e.stream === o.stream;
    if (o.follow) {
      const sigint = fromEvent(process, 'SIGINT');
      await lastValueFrom(
        store.subscribe({ after, ...(o.stream ? { streamPrefix: o.stream } : {}) }).pipe(
          takeUntil(sigint),
          tap((e) => matches(e) && print(e)),
        ),
        { defaultValue: undefined },
      );
      return;
    }
    const entries = await store.readAll({
      after,
      limit,
      ...(o.stream ? { streamPrefix: o.stream } : {}),
    });
    entries.filter(matches).forEach(print);
  } finally {
    await store.close();
  }
}

export function registerLogCommand(program: Command): void {
  const log = clientOptions(
    program
      .command('log')
      .summary('print the event log (every recorded state change, no secrets)')
      .option('--stream <name>', 'only this stream, e.g. peer:<id> or session:<peer>:<id>')
      .option('--after <position>', 'start after this global position', '0')
      .option('--limit <n>', 'at most this many entries (without --follow)', '500')
      .option('-f, --follow', 'keep printing new entries until Ctrl-C')
      .addOption(
        new Option(
          '--store <spec>',
          'read a store directly instead of a running peer (file:PATH | mongodb://…)',
        ),
      )
      .addHelpText(
        'after',
        `
Each line: #position  time  stream@version  EventType  fromState → toState
A peer on the memory store keeps only its newest events (conclave serve --log-retain): when the
range starts before them, a one-line notice goes to stderr (a JSON object with --json).
Examples:
  $ conclave log --stream peer:3f9a…
  $ conclave log --follow --json                 # JSON lines, for tools
  $ conclave log --store file:/var/lib/conclave/log   # a stopped peer's log
  $ conclave log replay --stream trust            # re-run a stream, explain a failure
  $ conclave log export --stream trust --out t.jsonl   # a secret-free trace to share`,
      ),
  );
  log.enablePositionalOptions();
  registerReplayCommands(log);
  registerExportCommand(log);
  log.action(async (o: LogOpts) => {
    const after = nonNegativeInt('--after', o.after);
    const limit = nonNegativeInt('--limit', o.limit);
    if (o.store !== undefined) {
      await fromStore(o.store, o, after, limit);
      return;
    }
    const target = await resolveTarget(o);
    const q = new URLSearchParams({ after: String(after), limit: String(limit) });
    if (o.stream) q.set('stream', o.stream);
    const print = printer(o.json);
    if (o.follow) {
      // The live tail cannot say what was dropped; one entry of a page can.
      const probe = new URLSearchParams(q);
      probe.set('limit', '1');
      const head = await apiJson<LogPage>(target, 'GET', `/api/log?${probe.toString()}`);
      const dropped = droppedRangeOf(head);
      if (dropped) reportDropped(dropped, o.json);
      await apiFollow(target, `/api/log?${q.toString()}`, (data) => print(data as RecordedEvent));
      return;
    }
    const r = await apiJson<LogPage>(target, 'GET', `/api/log?${q.toString()}`);
    const dropped = droppedRangeOf(r);
    if (dropped) reportDropped(dropped, o.json);
    r.entries.forEach(print);
  });
}
