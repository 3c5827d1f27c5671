/**
 * `npm run bench`: runs every `bench/*.bench.ts` module in one process run and prints each of our
 * numbers beside the baseline measured in the same run, as a ratio against its target.
 *
 *   npm run bench                 # everything
 *   npm run bench -- crypto store # only these modules
 *   npm run bench -- --json       # JSON lines instead of the table
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchModule, RatioRow } from './lib.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const asJson = args.includes('--json');
const only = args.filter((a) => !a.startsWith('--'));

function fmtRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M/s`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k/s`;
  return `${n.toFixed(1)}/s`;
}

function printRow(r: RatioRow): void {
  if (asJson) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const verdict = r.met === undefined ? '' : r.met ? '  ✓ met' : '  ✗ NOT met';
  const base = r.baseline ? `  vs ${r.baseline.name} ${fmtRate(r.baseline.rate.opsPerSec)}` : '';
  const ratio = r.ratio !== undefined ? `  ratio ${r.ratio.toFixed(2)}` : '';
  const target = r.target ? `  (target ${r.target})` : '';
  process.stdout.write(
    `  ${r.name.padEnd(44)} ${fmtRate(r.ours.opsPerSec).padStart(10)} (${r.ours.usPerOp.toFixed(2)} µs)${base}${ratio}${target}${verdict}${r.note ? `  — ${r.note}` : ''}\n`,
  );
}

const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
const selected = files.filter((f) => only.length === 0 || only.includes(basename(f, '.bench.ts')));
if (selected.length === 0) {
  process.stderr.write(
    `no bench module matches ${only.join(', ')}; have: ${files.map((f) => basename(f, '.bench.ts')).join(', ')}\n`,
  );
  process.exit(2);
}
const rows: RatioRow[] = [];
const startedAt = new Date().toISOString();
for (const f of selected) {
  const mod = ((await import(join(here, f))) as { default: BenchModule }).default;
  if (!asJson) process.stdout.write(`\n== ${mod.title} (${f})\n`);
  await mod.run((r) => {
    rows.push(r);
    printRow(r);
  });
}
const missed = rows.filter((r) => r.met === false);
if (!asJson) {
  process.stdout.write(
    `\n${rows.length} rows; ${rows.filter((r) => r.met).length} targets met, ${missed.length} not met.\n`,
  );
}
await mkdir(join(here, 'results'), { recursive: true });
await writeFile(
  join(here, 'results', 'latest.json'),
  JSON.stringify({ startedAt, node: process.version, rows }, null, 2),
);
