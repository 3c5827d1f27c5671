/** Human output of CLI commands. Machine output is `--json` and never goes through here. */
import type { RecordedEvent } from '../store/event-store.js';

function stateText(v: unknown): string {
  if (v === null || v === undefined) return '∅';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** One line per log entry: position, stream@version, type, from → to, time. */
export function formatLogEntry(e: RecordedEvent): string {
  const time = typeof e.meta.recordedAt === 'string' ? e.meta.recordedAt.slice(11, 23) : '';
  const move =
    e.meta.from === undefined && e.meta.to === undefined
      ? ''
      : `  ${stateText(e.meta.from)} → ${stateText(e.meta.to)}`;
  return `#${String(e.position).padStart(6)}  ${time}  ${e.stream}@${e.version}  ${e.type}${move}`;
}

export function formatKeyValues(rows: ReadonlyArray<readonly [string, unknown]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows
    .map(
      ([k, v]) =>
        `${k.padEnd(width)}  ${v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v as string | number | boolean)}`,
    )
    .join('\n');
}

/** Columns padded to the widest cell, two spaces apart. */
export function formatTable(
  head: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}
