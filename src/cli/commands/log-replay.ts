/** `conclave log replay` and `conclave log export`: re-run a stream, or write a shareable trace. */
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { explainFailure } from '../../actors/explain.js';
import { replayStream, type ReplayResult } from '../../actors/replay.js';
import { AppError } from '../../errors.js';
import type { RecordedEvent } from '../../store/event-store.js';
import { openEventStore } from '../../store/open-event-store.js';
import { apiJson, resolveTarget } from '../api-client.js';
import { clientOptions, type ClientOpts } from '../client-options.js';
import { printJson, printLine } from '../output.js';

interface ReplayOpts extends ClientOpts {
  stream: string;
  at?: string;
  store?: string;
}

/** Every event of one stream, from a running peer or straight from a store. */
export async function readStreamEvents(
  o: ClientOpts & { store?: string },
  stream: string,
): Promise<RecordedEvent[]> {
  if (o.store !== undefined) {
    const store = await openEventStore(o.store);
    try {
      return await store.readStream(stream);
    } finally {
      await store.close();
    }
  }
  const target = await resolveTarget(o);
  const out: RecordedEvent[] = [];
  let after = 0;
  for (;;) {
    const q = new URLSearchParams({ stream, after: String(after), limit: '5000' });
    const page = await apiJson<{ entries: RecordedEvent[]; scannedTo: number }>(
      target,
      'GET',
      `/api/log?${q.toString()}`,
    );
    out.push(...page.entries);
    if (page.scannedTo <= after) return out;
    after = page.scannedTo;
  }
}

function state(v: unknown): string {
  return v === null || v === undefined ? '∅' : typeof v === 'string' ? v : JSON.stringify(v);
}

function formatFacts(f: Readonly<Record<string, unknown>>): string {
  return Object.entries(f)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

export function formatReplay(r: ReplayResult): string {
  const lines = [`replay ${r.stream}  (machine ${r.machine ?? '?'}, ${r.steps.length} events)`];
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
  const lastGood = [...r.steps]
    .reverse()
    .find((s) => s.isMatch && !/fail/i.test(state(s.recordedTo)));
  const why = explainFailure(
    r.machine,
    r.final?.context ?? null,
    lastGood ? `${lastGood.type} at #${lastGood.position}` : null,
  );
  if (why) lines.push('', why.text);
  return lines.join('\n');
}

export function registerReplayCommands(log: Command): void {
  clientOptions(
    log
      .command('replay')
      .summary('re-run a stream through its machine; flag differences; explain a failure')
      .requiredOption('--stream <name>', 'the stream, e.g. session:<peer>:<sid> or peer:<id>')
      .option('--at <position>', 'stop after this global position and show the state there')
      .option('--store <spec>', 'read a store directly (a stopped peer): file:PATH | mongodb://…')
      .addHelpText(
        'after',
        '\nExamples:\n  $ conclave log replay --stream trust\n  $ conclave log replay --stream session:3f9a…:Qm… --json\n  $ conclave log replay --stream peer:3f9a… --store file:/var/lib/conclave/log',
      ),
  ).action(async (o: ReplayOpts) => {
    const at = o.at === undefined ? undefined : Number(o.at);
    if (at !== undefined && (!Number.isInteger(at) || at < 0))
      throw new AppError('ERR_INVALID_ARGUMENT', '--at must be a whole number ≥ 0');
    const events = await readStreamEvents(o, o.stream);
    if (events.length === 0)
      throw new AppError(
        'ERR_NOT_FOUND',
        `no events in stream ${o.stream} (list streams with: conclave log --json)`,
      );
    const result = replayStream(o.stream, events, at);
    if (o.json) {
      const lastGood = [...result.steps].reverse().find((s) => s.isMatch);
      printJson({
        ...result,
        explanation: explainFailure(
          result.machine,
          result.final?.context ?? null,
          lastGood ? `${lastGood.type} at #${lastGood.position}` : null,
        ),
      });
    } else {
      printLine(formatReplay(result));
    }
    if (result.mismatches > 0 || result.problem) process.exitCode = 1;
  });

  clientOptions(
    log
      .command('export')
      .summary('write a secret-free trace (JSONL) of a stream that someone else can replay')
      .requiredOption('--stream <name>', 'the stream to export')
      .option('-o, --out <file>', 'write to this file instead of stdout')
      .option('--store <spec>', 'read a store directly (a stopped peer)'),
  ).action(async (o: ClientOpts & { stream: string; out?: string; store?: string }) => {
    const events = await readStreamEvents(o, o.stream);
    if (events.length === 0) throw new AppError('ERR_NOT_FOUND', `no events in stream ${o.stream}`);
    const text = events.map((e) => JSON.stringify(e)).join('\n') + '\n';
    if (o.out) {
      await writeFile(o.out, text, { mode: 0o600 });
      process.stderr.write(`wrote ${events.length} events of ${o.stream} to ${o.out}\n`);
    } else {
      process.stdout.write(text);
    }
  });
}
