import { describe, expect, it } from 'vitest';
import type { PeerRuntime } from '../../src/actors/peer-runtime.js';
import type { PeerSessions } from '../../src/actors/peer-sessions.types.js';
import {
  collectMetrics,
  gauge,
  one,
  processFamilies,
  retentionFamilies,
} from '../../src/cli/serve-metrics.js';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';
import type { RunningDiscovery } from '../../src/cli/serve-discovery.js';
import { HANDSHAKE_FAILURE_REASONS } from '../../src/machines/handshake.types.js';

function deps() {
  const runtime = {
    knownPeers: () => [{ peerId: 'a' }],
    pins: () => ({ a: { state: 'verified' } }),
    writer: {
      appendedCount: 7,
      failedCount: 0,
      pending: 1,
      appendLatency: { buckets: [{ le: 0.001, count: 2 }], sum: 0.0015, count: 2 },
    },
  } as unknown as PeerRuntime;
  const sessions = {
    stats: () => ({
      handshakes: [
        { role: 'requester', result: 'established', count: 3 },
        { role: 'responder', result: 'stale', count: 1 },
        { role: 'responder', result: 'overloaded', count: 2 },
      ],
      sessions: 2,
      linksUp: 1,
      pushes: { dropped: 3, missed: 5 },
    }),
  } as unknown as PeerSessions;
  const discovery = {
    diagnostics: () => ({
      beaconsSent: 4,
      beaconsAccepted: 5,
      dropped: { 'bad-signature': 1, stale: 0 },
      evicted: 6,
      mdns: { rejected: { spoofed: 2 } },
    }),
  } as unknown as RunningDiscovery;
  return { runtime, sessions, discovery };
}

describe('collectMetrics', () => {
  it('lists every handshake result per role, 0 until it happens, and unknown results too', () => {
    const text = collectMetrics(deps());
    for (const role of ['requester', 'responder'])
      for (const reason of HANDSHAKE_FAILURE_REASONS)
        expect(text).toMatch(
          new RegExp(`conclave_handshakes_total\\{role="${role}",result="${reason}"\\} \\d`),
        );
    expect(text).toContain('conclave_handshakes_total{role="requester",result="established"} 3');
    expect(text).toContain('conclave_handshakes_total{role="responder",result="stale"} 1');
    expect(text).toContain('conclave_handshakes_total{role="responder",result="overloaded"} 2');
    expect(text).toContain('conclave_handshakes_total{role="responder",result="bad-signature"} 0');
  });

  it('reports sessions, drops by reason, the log and its append latency', () => {
    const text = collectMetrics(deps());
    expect(text).toContain('conclave_sessions 2');
    expect(text).toContain('conclave_datagrams_dropped_total{reason="bad-signature"} 1');
    expect(text).toContain('conclave_mdns_rejected_total{reason="spoofed"} 2');
    expect(text).toContain('conclave_beacon_peers_evicted_total 6');
    expect(text).toContain('conclave_pins{state="verified"} 1');
    expect(text).toContain('# TYPE conclave_log_append_seconds histogram');
    expect(text).toContain('conclave_log_append_seconds_bucket{le="0.001"} 2');
    expect(text).toContain('conclave_log_append_seconds_count 2');
  });

  it("reports push frames lost to full poll queues, ours and the peers'", () => {
    const text = collectMetrics(deps());
    expect(text).toContain('# TYPE conclave_session_pushes_dropped_total counter');
    expect(text).toContain('conclave_session_pushes_dropped_total 3');
    expect(text).toContain('conclave_session_pushes_missed_total 5');
  });

  it('takes a new family in one line', () => {
    const text = collectMetrics({
      ...deps(),
      extra: [() => gauge('conclave_rooms', 'Rooms joined.', one(3))],
    });
    expect(text).toContain('# TYPE conclave_rooms gauge\nconclave_rooms 3\n');
  });

  it('reports the process (CPU, resident memory, V8 heap) under the usual Prometheus names', () => {
    const text = collectMetrics({ ...deps(), extra: processFamilies() });
    const value = (re: RegExp): number => Number(re.exec(text)?.[1]);
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(value(/^process_cpu_seconds_total (\S+)$/m)).toBeGreaterThan(0);
    expect(value(/^process_resident_memory_bytes (\d+)$/m)).toBeGreaterThan(10 * 2 ** 20);
    const used = value(/^nodejs_heap_size_bytes\{kind="used"\} (\d+)$/m);
    const total = value(/^nodejs_heap_size_bytes\{kind="total"\} (\d+)$/m);
    expect(used).toBeGreaterThan(0);
    expect(total).toBeGreaterThanOrEqual(used);
    expect(value(/^nodejs_external_memory_bytes (\d+)$/m)).toBeGreaterThan(0);
  });

  it('reports what the memory log holds and dropped (a durable store has no such families)', async () => {
    const store = createMemoryEventStore({ retainBytes: 2_000 });
    for (let i = 0; i < 40; i++)
      await store.append('s', [
        { type: 'T', data: { pad: 'x'.repeat(100) }, meta: { recordedAt: 'now' } },
      ]);
    const text = collectMetrics({ ...deps(), extra: retentionFamilies(store) });
    const held = Number(/^conclave_log_held_bytes (\d+)$/m.exec(text)?.[1]);
    const dropped = Number(/^conclave_log_dropped_total (\d+)$/m.exec(text)?.[1]);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(2_000);
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBe(store.retention?.().droppedEvents);
    expect(retentionFamilies({})).toEqual([]);
  });
});
