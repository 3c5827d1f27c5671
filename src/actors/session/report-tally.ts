/**
 * A count a session reports in rate-limited events (push frames dropped or missed, protocol §3.6):
 * every `add` counts at once in `total`; the report of what was counted since the last one is due
 * the first time at once, then at most once per `intervalMs`; `flush` hands out whatever is left,
 * whatever the time (after a poll, at close). So a burst of drops is one or two events, not one per
 * frame. No I/O and no clock: times are passed in.
 */
export interface ReportTally {
  /** Everything counted so far. */
  readonly total: number;
  /** Count `n` at `at` (ms); returns the count to report now, or 0 while the report waits. */
  add(n: number, at: number): number;
  /** The count not reported yet (0: none), which counts as reported from now. */
  flush(at: number): number;
}

/**
 * @example
 * const drops = createReportTally(1_000);
 * const count = drops.add(1, Date.now());
 * if (count > 0) send({ type: 'push.dropped', count, at });
 */
export function createReportTally(intervalMs: number): ReportTally {
  let total = 0;
  let unreported = 0;
  let lastReportAt = Number.NEGATIVE_INFINITY;
  const take = (at: number): number => {
    const n = unreported;
    if (n > 0) lastReportAt = at;
    unreported = 0;
    return n;
  };
  return {
    get total() {
      return total;
    },
    add(n, at) {
      total += n;
      unreported += n;
      return at - lastReportAt >= intervalMs ? take(at) : 0;
    },
    flush: take,
  };
}
