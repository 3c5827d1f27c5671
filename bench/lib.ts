/**
 * A tiny benchmark harness: time-boxed loops, median of several windows, and ratio rows that put
 * our number beside a baseline measured in the same process run (never an absolute threshold).
 */
import { performance } from 'node:perf_hooks';

export interface Rate {
  readonly opsPerSec: number;
  readonly usPerOp: number;
}

export interface RatioRow {
  readonly section: string;
  readonly name: string;
  readonly ours: Rate;
  readonly baseline?: { readonly name: string; readonly rate: Rate };
  /** ours / baseline (throughput ratio); present when there is a baseline. */
  readonly ratio?: number;
  /** The target ratio or absolute floor this row is judged against, as text. */
  readonly target?: string;
  readonly met?: boolean;
  readonly note?: string;
}

export interface BenchOptions {
  /** Length of one timed window in ms (default 300). */
  readonly windowMs?: number;
  /** Number of timed windows; the median is reported (default 5). */
  readonly windows?: number;
  /** How many operations one call of `fn` performs (default 1). */
  readonly opsPerCall?: number;
}

/** Run `fn` repeatedly for several windows after a warm-up; report the median rate. */
export function measureSync(fn: () => unknown, options: BenchOptions = {}): Rate {
  const windowMs = options.windowMs ?? 300;
  const windows = options.windows ?? 5;
  const opsPerCall = options.opsPerCall ?? 1;
  const rates: number[] = [];
  for (let w = -1; w < windows; w++) {
    let calls = 0;
    const start = performance.now();
    let now = start;
    while (now - start < windowMs) {
      for (let i = 0; i < 16; i++) fn();
      calls += 16;
      now = performance.now();
    }
    if (w >= 0) rates.push((calls * opsPerCall * 1000) / (now - start));
  }
  return toRate(median(rates));
}

/** Like `measureSync` for async work; `fn` is awaited one call at a time. */
export async function measureAsync(
  fn: () => Promise<unknown>,
  options: BenchOptions = {},
): Promise<Rate> {
  const windowMs = options.windowMs ?? 300;
  const windows = options.windows ?? 5;
  const opsPerCall = options.opsPerCall ?? 1;
  const rates: number[] = [];
  for (let w = -1; w < windows; w++) {
    let calls = 0;
    const start = performance.now();
    let now = start;
    while (now - start < windowMs) {
      await fn();
      calls += 1;
      now = performance.now();
    }
    if (w >= 0) rates.push((calls * opsPerCall * 1000) / (now - start));
  }
  return toRate(median(rates));
}

export function toRate(opsPerSec: number): Rate {
  return { opsPerSec, usPerOp: 1e6 / opsPerSec };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[idx] as number;
}

/** A bench module: `bench/*.bench.ts` default-exports one of these. */
export interface BenchModule {
  readonly title: string;
  run(report: (row: RatioRow) => void): Promise<void>;
}

/** Build a row with the ratio filled in and judged against `minRatio` when given. */
export function ratioRow(
  section: string,
  name: string,
  ours: Rate,
  baseline: { name: string; rate: Rate } | undefined,
  judge?: { minRatio?: number; minOpsPerSec?: number; note?: string },
): RatioRow {
  const ratio = baseline ? ours.opsPerSec / baseline.rate.opsPerSec : undefined;
  let met: boolean | undefined;
  let target: string | undefined;
  if (judge?.minRatio !== undefined && ratio !== undefined) {
    met = ratio >= judge.minRatio;
    target = `≥ ${judge.minRatio}× baseline`;
  } else if (judge?.minOpsPerSec !== undefined) {
    met = ours.opsPerSec >= judge.minOpsPerSec;
    target = `≥ ${judge.minOpsPerSec.toLocaleString('en-US')} ops/s`;
  }
  return {
    section,
    name,
    ours,
    ...(baseline ? { baseline } : {}),
    ...(ratio !== undefined ? { ratio } : {}),
    ...(target ? { target } : {}),
    ...(met !== undefined ? { met } : {}),
    ...(judge?.note ? { note: judge.note } : {}),
  };
}
