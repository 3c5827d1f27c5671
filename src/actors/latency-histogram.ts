/**
 * A fixed-bucket latency histogram (cumulative counts, sum, count), the shape Prometheus
 * histograms report. Plain numbers, no Prometheus knowledge: `serve-metrics.ts` formats it.
 */

/** Default upper bounds in seconds: 0.5 ms … 2.5 s covers memory, fsync'd files and Mongo. */
export const DEFAULT_LATENCY_BOUNDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

export interface HistogramSnapshot {
  /** Cumulative: `count` observations were ≤ `le` seconds. The `+Inf` bucket is `count`. */
  readonly buckets: ReadonlyArray<{ readonly le: number; readonly count: number }>;
  readonly sum: number;
  readonly count: number;
}

export interface LatencyHistogram {
  observe(seconds: number): void;
  snapshot(): HistogramSnapshot;
}

/**
 * @example
 * const h = createLatencyHistogram();
 * h.observe(0.004);
 * h.snapshot(); // { buckets: [{ le: 0.0005, count: 0 }, …, { le: 0.005, count: 1 }, …], sum: 0.004, count: 1 }
 */
export function createLatencyHistogram(
  bounds: readonly number[] = DEFAULT_LATENCY_BOUNDS,
): LatencyHistogram {
  const sorted = [...bounds].sort((a, b) => a - b);
  const perBucket = sorted.map(() => 0);
  let sum = 0;
  let count = 0;
  return {
    observe(seconds) {
      if (!Number.isFinite(seconds) || seconds < 0) return;
      const i = sorted.findIndex((le) => seconds <= le);
      if (i >= 0) perBucket[i] = (perBucket[i] ?? 0) + 1;
      sum += seconds;
      count += 1;
    },
    snapshot() {
      let running = 0;
      const buckets = sorted.map((le, i) => {
        running += perBucket[i] ?? 0;
        return { le, count: running };
      });
      return { buckets, sum, count };
    },
  };
}
