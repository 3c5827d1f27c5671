/**
 * Prometheus text exposition (format 0.0.4) for `GET /api/metrics`: a pure formatter over
 * samples, so every component reports numbers and nothing here knows where they came from.
 */
type Labels = Readonly<Record<string, string>>;

interface ScalarMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly samples: ReadonlyArray<{ readonly labels?: Labels; readonly value: number }>;
}

/** Cumulative buckets (`count` observations ≤ `le`), as `HistogramSnapshot` reports them. */
export interface HistogramSample {
  readonly labels?: Labels;
  readonly buckets: ReadonlyArray<{ readonly le: number; readonly count: number }>;
  readonly sum: number;
  readonly count: number;
}

interface HistogramMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly samples: readonly HistogramSample[];
}

export type Metric = ScalarMetric | HistogramMetric;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: ReadonlyArray<readonly [string, string]>): string {
  return labels.length === 0
    ? ''
    : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

function num(v: number): number {
  return Number.isFinite(v) ? v : 0;
}

function histogramLines(name: string, s: HistogramSample): string[] {
  const base = Object.entries(s.labels ?? {});
  const lines = s.buckets.map(
    (b) => `${name}_bucket${labelText([...base, ['le', String(b.le)]])} ${num(b.count)}`,
  );
  lines.push(
    `${name}_bucket${labelText([...base, ['le', '+Inf']])} ${num(s.count)}`,
    `${name}_sum${labelText(base)} ${num(s.sum)}`,
    `${name}_count${labelText(base)} ${num(s.count)}`,
  );
  return lines;
}

/**
 * @example
 * formatPrometheus([{ name: 'x_total', help: 'X.', type: 'counter', samples: [{ value: 3 }] }]);
 * // '# HELP x_total X.\n# TYPE x_total counter\nx_total 3\n'
 */
export function formatPrometheus(metrics: readonly Metric[]): string {
  const lines: string[] = [];
  for (const m of metrics) {
    lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
    if (m.type === 'histogram') {
      for (const s of m.samples) lines.push(...histogramLines(m.name, s));
      continue;
    }
    for (const s of m.samples)
      lines.push(`${m.name}${labelText(Object.entries(s.labels ?? {}))} ${num(s.value)}`);
  }
  return `${lines.join('\n')}\n`;
}
