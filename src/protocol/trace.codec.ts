/**
 * Exported traces (`conclave log export`): one stream of the event log as JSON Lines, so that
 * someone on another machine can replay it (`conclave log replay --from-file`).
 *
 * Line 1 is a header `{format, formatVersion, stream, machine, machineVersion, machines,
 * exportedAt, software, events}`; every further line is one recorded event
 * `{stream, version, position, type, data, meta}`, in version order. Parsing only: the exporter
 * sanitizes what it writes; whether the events replay is decided by `src/actors/replay.ts`.
 */
import { z } from 'zod';
import { err, ok, type DecodeError, type Result } from './result.js';

export const TRACE_FORMAT = 'conclave-trace';
/** Bumped only for incompatible changes; readers refuse versions they do not know. */
export const TRACE_FORMAT_VERSION = 1;

/** A trace must fit in memory to be replayed; this is far above any real stream. */
export const MAX_TRACE_EVENTS = 1_000_000;

const Header = z.looseObject({
  format: z.literal(TRACE_FORMAT),
  formatVersion: z.number().int().min(1),
  stream: z.string().min(1).max(512),
  /** Machine of the stream's first actor (a session stream also holds its handshake's). */
  machine: z.string().max(128).nullable(),
  machineVersion: z.number().int().min(0).nullable(),
  /** Every machine recorded in the stream, with the version that recorded it. */
  machines: z.record(z.string().max(128), z.number().int().min(0)),
  exportedAt: z.string().min(1).max(64),
  software: z.looseObject({ name: z.string().max(64), version: z.string().max(64) }),
  events: z.number().int().min(0).max(MAX_TRACE_EVENTS),
});

const TraceEventSchema = z.object({
  stream: z.string().min(1).max(512),
  version: z.number().int().min(1),
  position: z.number().int().min(1),
  type: z.string().min(1).max(256),
  data: z.record(z.string(), z.unknown()),
  meta: z.looseObject({ recordedAt: z.string() }),
});

export type TraceHeader = z.infer<typeof Header>;
export type TraceEvent = z.infer<typeof TraceEventSchema>;

export interface Trace {
  readonly header: TraceHeader;
  readonly events: readonly TraceEvent[];
}

export type TraceError = DecodeError & { readonly line: number };

/** The header line (without the newline). */
export function encodeTraceHeader(h: Omit<TraceHeader, 'format' | 'formatVersion'>): string {
  return JSON.stringify({ format: TRACE_FORMAT, formatVersion: TRACE_FORMAT_VERSION, ...h });
}

function bad(
  line: number,
  reason: DecodeError['reason'],
  detail: string,
): Result<never, TraceError> {
  return err({ line, reason, detail });
}

function parseLine(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function issueText(e: z.ZodError): string {
  const i = e.issues[0];
  return i ? `${i.path.join('.') || 'line'}: ${i.message}` : 'invalid';
}

/**
 * Parse a whole trace: header, then events of the header's stream in strictly increasing
 * version order, exactly as many as the header announces (a cut-off file is refused).
 *
 * @example
 * const r = decodeTrace(await readFile('trace.jsonl', 'utf8'));
 * if (r.ok) replayStream(r.value.header.stream, r.value.events);
 */
export function decodeTrace(text: string): Result<Trace, TraceError> {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const first = lines[0];
  if (first === undefined) return bad(1, 'malformed', 'the file is empty');
  const rawHeader = parseLine(first);
  if ((rawHeader as { format?: unknown } | undefined)?.format !== TRACE_FORMAT)
    return bad(
      1,
      'malformed',
      `not a conclave trace (the first line is no "${TRACE_FORMAT}" header)`,
    );
  const h = Header.safeParse(rawHeader);
  if (!h.success) return bad(1, 'invalid', issueText(h.error));
  const header = h.data;
  if (header.formatVersion > TRACE_FORMAT_VERSION) {
    return bad(
      1,
      'unsupported-version',
      `trace format ${header.formatVersion} is newer than this conclave reads (${TRACE_FORMAT_VERSION}); upgrade conclave`,
    );
  }
  const events: TraceEvent[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = i + 1;
    const e = TraceEventSchema.safeParse(parseLine(lines[i] ?? ''));
    if (!e.success) return bad(line, 'malformed', issueText(e.error));
    const prev = events.at(-1);
    if (e.data.stream !== header.stream)
      return bad(
        line,
        'invalid',
        `event of stream ${e.data.stream} in a trace of ${header.stream}`,
      );
    if (prev && e.data.version <= prev.version)
      return bad(line, 'invalid', `version ${e.data.version} after ${prev.version}: out of order`);
    events.push(e.data);
  }
  if (events.length !== header.events) {
    return bad(
      lines.length,
      'invalid',
      `the header announces ${header.events} events but the file holds ${events.length} (cut off?)`,
    );
  }
  return ok({ header, events });
}
