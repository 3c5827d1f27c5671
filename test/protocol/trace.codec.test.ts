import { describe, expect, it } from 'vitest';
import { traceLines } from '../../src/cli/commands/log-export.js';
import { decodeTrace, TRACE_FORMAT_VERSION } from '../../src/protocol/trace.codec.js';
import type { RecordedEvent } from '../../src/store/event-store.js';

const event = (version: number, over: Partial<RecordedEvent> = {}): RecordedEvent => ({
  stream: 'trust',
  version,
  position: version * 10,
  type: version === 1 ? 'xstate.init' : 'pin.verify',
  data: version === 1 ? { input: {} } : { peerId: 'p', at: 't' },
  meta: { recordedAt: '2026-01-01T00:00:00.000Z', machine: 'trust', machineVersion: 1, to: 'on' },
  ...over,
});

const trace = (events: RecordedEvent[]): string =>
  `${traceLines('trust', events, new Date('2026-01-02T00:00:00Z')).join('\n')}\n`;

describe('trace codec', () => {
  it('reads back what the exporter writes: header and events in order', () => {
    const r = decodeTrace(trace([event(1), event(2), event(3)]));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.header).toMatchObject({
      format: 'conclave-trace',
      formatVersion: TRACE_FORMAT_VERSION,
      stream: 'trust',
      machine: 'trust',
      machineVersion: 1,
      machines: { trust: 1 },
      exportedAt: '2026-01-02T00:00:00.000Z',
      events: 3,
    });
    expect(r.value.events).toEqual([event(1), event(2), event(3)]);
  });

  it('names every machine a stream holds, with its version', () => {
    const session = event(3, { meta: { recordedAt: 't', machine: 'session', machineVersion: 2 } });
    const r = decodeTrace(trace([event(1), event(2), session]));
    expect(r.ok && r.value.header.machines).toEqual({ trust: 1, session: 2 });
  });

  const header = (over: Record<string, unknown> = {}): string =>
    JSON.stringify({ ...JSON.parse(trace([event(1)]).split('\n')[0]!), ...over });
  const line1 = JSON.stringify(event(1));
  const cases: Array<[string, string, string, number, RegExp]> = [
    ['an empty file', '', 'malformed', 1, /empty/],
    ['a file that is no trace', '{"a":1}\n', 'malformed', 1, /not a conclave trace/],
    [
      'a newer format',
      `${header({ formatVersion: 99 })}\n${line1}\n`,
      'unsupported-version',
      1,
      /upgrade/,
    ],
    ['a broken header', `${header({ events: -1 })}\n`, 'invalid', 1, /events/],
    ['a garbled event', `${header()}\n{oops\n`, 'malformed', 2, /line/],
    [
      'an event of another stream',
      `${header()}\n${JSON.stringify(event(1, { stream: 'x' }))}\n`,
      'invalid',
      2,
      /stream x/,
    ],
    [
      'events out of order',
      `${header({ events: 2 })}\n${JSON.stringify(event(2))}\n${line1}\n`,
      'invalid',
      3,
      /out of order/,
    ],
    ['a cut-off file', `${header({ events: 2 })}\n${line1}\n`, 'invalid', 2, /cut off/],
  ];
  for (const [what, text, reason, line, detail] of cases) {
    it(`refuses ${what}, saying where`, () => {
      const r = decodeTrace(text);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error).toMatchObject({ reason, line });
      expect(r.error.detail).toMatch(detail);
    });
  }
});
