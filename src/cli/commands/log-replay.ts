/**
 * `conclave log replay`: re-run one stream through its machine, from a running peer, a store
 * (`--store`, e.g. a stopped peer) or an exported trace (`--from-file`), flag every step whose
 * replayed state differs from the recorded one, and explain a failure in plain words.
 */
import type { Command } from 'commander';
import { explainFailure, type Explanation } from '../../actors/explain.js';
import { replayStream, type ReplayResult } from '../../actors/replay.js';
import { AppError } from '../../errors.js';
import type { TraceHeader } from '../../protocol/trace.codec.js';
import type { RecordedEvent } from '../../store/event-store.js';
import { clientOptions } from '../client-options.js';
import { readAllStreams, readStreamEvents, readTraceFile, type SourceOpts } from '../log-source.js';
import { printJson, printLine } from '../output.js';

interface ReplayOpts extends SourceOpts {
  stream?: string;
  at?: string;
  fromFile?: string;
  all?: boolean;
}

function state(v: unknown): string {
  return v === null || v === undefined ? '∅' : typeof v === 'string' ? v : JSON.stringify(v);
}

function formatFacts(f: Readonly<Record<string, unknown>>): string {
  return Object.entries(f)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

/** The explanation of a replay's end: the failure reason and the last step that went well. */
export function explainReplay(r: ReplayResult): Explanation | null {
  const lastGood = [...r.steps]
    .reverse()
    .find((s) => s.isMatch && !/fail/i.test(state(s.recordedTo)));
  const cancel = [...r.steps].reverse().find((s) => s.type === 'rotation.cancel');
  const cancelReason = cancel?.facts.reason;
  return explainFailure(
    r.machine,
    r.final?.context ?? null,
    lastGood ? `${lastGood.type} at #${lastGood.position}` : null,
    {
      state: r.final?.state,
      ...(typeof cancelReason === 'string' ? { cancelReason } : {}),
    },
  );
}

export function formatReplay(r: ReplayResult): string {
  const machines = r.machines.length > 0 ? r.machines.join(' → ') : '?';
  const lines = [`replay ${r.stream}  (machine ${machines}, ${r.steps.length} events)`];
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  for (const s of r.steps) {
    const time = s.recordedAt?.slice(11, 23) ?? '';
    const move = `${state(s.from)} → ${state(s.recordedTo)}`;
    const flag = s.isMatch ? '✓' : `✗ MISMATCH: replay reached ${state(s.replayedTo)}`;
    lines.push(
      `#${String(s.position).padStart(6)}  ${time}  ${s.type.padEnd(22)} ${move.padEnd(36)} ${flag}  ${formatFacts(s.facts)}`.trimEnd(),
    );
  }
  if (r.problem) lines.push(`cannot replay further: ${r.problem}`);
  if (r.final) lines.push(`final: ${state(r.final.state)} (${r.final.status})`);
  lines.push(
    r.mismatches === 0
      ? 'every replayed state matches the recorded one'
      : `${r.mismatches} step(s) differ from the recording`,
  );
  const why = explainReplay(r);
  if (why) lines.push('', why.text);
  return lines.join('\n');
}

interface Loaded {
  readonly stream: string;
  readonly events: readonly RecordedEvent[];
  readonly trace: TraceHeader | null;
}

async function load(o: ReplayOpts): Promise<Loaded> {
  if (o.fromFile !== undefined) {
    if (o.store !== undefined)
      throw new AppError('ERR_INVALID_ARGUMENT', 'use either --from-file or --store, not both');
    const { header, events } = await readTraceFile(o.fromFile);
    if (o.stream !== undefined && o.stream !== header.stream) {
      throw new AppError(
        'ERR_INVALID_ARGUMENT',
        `${o.fromFile} holds stream ${header.stream}, not ${o.stream}`,
      );
    }
    return { stream: header.stream, events, trace: header };
  }
  if (o.stream === undefined) {
    throw new AppError(
      'ERR_INVALID_ARGUMENT',
      'say what to replay: --stream S (from a peer or --store), or --from-file TRACE.jsonl',
    );
  }
  return { stream: o.stream, events: await readStreamEvents(o, o.stream), trace: null };
}

/** One line (or JSON row) per stream of the log: did it replay to the recorded states? */
async function replayEveryStream(o: ReplayOpts): Promise<void> {
  if (o.stream !== undefined || o.fromFile !== undefined || o.at !== undefined)
    throw new AppError(
      'ERR_INVALID_ARGUMENT',
      '--all replays every stream; drop --stream, --from-file and --at',
    );
  const rows = [...(await readAllStreams(o))].map(([stream, events]) => {
    const r = replayStream(stream, events);
    return {
      stream,
      machines: r.machines,
      events: events.length,
      mismatches: r.mismatches,
      problem: r.problem,
      warnings: r.warnings,
      final: r.final?.state ?? null,
      reason: explainReplay(r)?.reason ?? null,
    };
  });
  const bad = rows.filter((r) => r.mismatches > 0 || r.problem !== null);
  if (o.json) {
    printJson({ streams: rows, divergent: bad.length });
  } else {
    for (const r of rows) {
      const ok = r.mismatches === 0 && r.problem === null;
      const why = r.problem ?? (ok ? '' : `${r.mismatches} step(s) differ`);
      printLine(
        `${ok ? '✓' : '✗'} ${r.stream}  (${r.machines.join(' → ') || '?'}, ${r.events} events) final ${state(r.final)}${r.reason ? ` reason ${r.reason}` : ''}${why ? `  ${why}` : ''}`,
      );
    }
    printLine(
      bad.length === 0
        ? `every stream (${rows.length}) replays to its recorded states`
        : `${bad.length} of ${rows.length} streams do not replay to their recorded states`,
    );
  }
  if (bad.length > 0) process.exitCode = 1;
}

export function registerReplayCommands(log: Command): void {
  clientOptions(
    log
      .command('replay')
      .summary('re-run a stream through its machine; flag differences; explain a failure')
      .option('--stream <name>', 'the stream, e.g. session:<peer>:<sid> or peer:<id>')
      .option('--at <position>', 'stop after this global position and show the state there')
      .option('--store <spec>', 'read a store directly (a stopped peer): file:PATH | mongodb://…')
      .option(
        '--from-file <trace>',
        'replay an exported trace (conclave log export); no peer needed',
      )
      .option('--all', 'replay every stream of the log and list the ones that diverge')
      .addHelpText(
        'after',
        `
Exit code 1 when a replayed state differs from the recorded one, or replay cannot go on.

Examples:
  $ conclave log replay --stream trust
  $ conclave log replay --stream session:3f9a…:Qm… --json
  $ conclave log replay --stream peer:3f9a… --store file:/var/lib/conclave/log
  $ conclave log replay --from-file failed-handshake.jsonl
  $ conclave log replay --all --store file:/var/lib/conclave/log   # check a whole log`,
      ),
  ).action(async (o: ReplayOpts) => {
    if (o.all) return replayEveryStream(o);
    const at = o.at === undefined ? undefined : Number(o.at);
    if (at !== undefined && (!Number.isInteger(at) || at < 0))
      throw new AppError('ERR_INVALID_ARGUMENT', '--at must be a whole number ≥ 0');
    const { stream, events, trace } = await load(o);
    if (events.length === 0)
      throw new AppError(
        'ERR_NOT_FOUND',
        `no events in stream ${stream} (list streams with: conclave log --json)`,
      );
    const result = replayStream(stream, events, at);
    if (o.json) {
      printJson({
        ...result,
        explanation: explainReplay(result),
        ...(trace ? { trace } : {}),
      });
    } else {
      const from = trace
        ? `trace exported ${trace.exportedAt} by conclave ${trace.software.version}\n`
        : '';
      printLine(from + formatReplay(result));
    }
    if (result.mismatches > 0 || result.problem) process.exitCode = 1;
  });
}
