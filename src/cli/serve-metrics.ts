/**
 * Gathers the numbers `GET /api/metrics` reports from the runtime, sessions and discovery.
 *
 * Each metric family is one entry of `FAMILIES`: a function from the gathered numbers to one
 * `Metric`. Adding a family (rooms, messages, rotations…) is one line there, plus its source in
 * `MetricsDeps` if it needs a new one; callers may also pass `extra` families.
 */
import type { PeerRuntime } from '../actors/peer-runtime.js';
import type { PeerSessions } from '../actors/peer-sessions.types.js';
import type { Rooms } from '../actors/rooms/rooms.js';
import { HANDSHAKE_FAILURE_REASONS } from '../machines/handshake.types.js';
import {
  formatPrometheus,
  type HistogramSample,
  type Metric,
} from '../transport/http/prometheus.js';
import type { EventStore } from '../store/event-store.js';
import type { RunningDiscovery } from './serve-discovery.js';

export interface MetricsDeps {
  readonly runtime: PeerRuntime;
  readonly sessions: PeerSessions;
  readonly discovery: RunningDiscovery;
}

interface DiscoveryNumbers {
  beaconsSent?: number;
  beaconsAccepted?: number;
  dropped?: Record<string, number>;
  evicted?: number;
  mdns?: { rejected?: Record<string, number> };
}

/** Everything the families read, gathered once per scrape. */
export interface MetricsSnapshot extends MetricsDeps {
  readonly sessionStats: ReturnType<PeerSessions['stats']>;
  readonly discoveryNumbers: DiscoveryNumbers;
}

export type MetricFamily = (s: MetricsSnapshot) => Metric;

export type Samples = ReadonlyArray<{ labels?: Record<string, string>; value: number }>;

export const counter = (name: string, help: string, samples: Samples): Metric => ({
  name,
  help,
  type: 'counter',
  samples,
});
export const gauge = (name: string, help: string, samples: Samples): Metric => ({
  name,
  help,
  type: 'gauge',
  samples,
});
export const histogram = (
  name: string,
  help: string,
  samples: readonly HistogramSample[],
): Metric => ({
  name,
  help,
  type: 'histogram',
  samples,
});
export const one = (value: number): Samples => [{ value }];
export const byLabel = (label: string, counts: Readonly<Record<string, number>> = {}): Samples =>
  Object.entries(counts).map(([v, value]) => ({ labels: { [label]: v }, value }));

/**
 * Handshakes by role and result, every known result listed (0 until it happens) so dashboards
 * and alerts see a series before the first failure; unknown results (e.g. `overloaded`) too.
 */
function handshakeSamples(stats: MetricsSnapshot['sessionStats']): Samples {
  const counts = new Map<string, number>();
  for (const role of ['requester', 'responder'])
    for (const result of ['established', ...HANDSHAKE_FAILURE_REASONS])
      counts.set(`${role}|${result}`, 0);
  for (const h of stats.handshakes) counts.set(`${h.role}|${h.result}`, h.count);
  return [...counts].map(([k, value]) => {
    const [role = '', result = ''] = k.split('|');
    return { labels: { role, result }, value };
  });
}

const PIN_STATES = ['unverified', 'verified', 'blocked'] as const;

const FAMILIES: readonly MetricFamily[] = [
  (s) =>
    counter(
      'conclave_handshakes_total',
      'Handshakes by role and result (established, or the failure reason).',
      handshakeSamples(s.sessionStats),
    ),
  (s) => gauge('conclave_sessions', 'Open sessions.', one(s.sessionStats.sessions)),
  (s) =>
    gauge(
      'conclave_session_links_up',
      'Sessions whose WebSocket link is up.',
      one(s.sessionStats.linksUp),
    ),
  (s) =>
    counter(
      'conclave_session_pushes_dropped_total',
      "Push frames this peer's poll queues dropped before the polling peer acknowledged them.",
      one(s.sessionStats.pushes.dropped),
    ),
  (s) =>
    counter(
      'conclave_session_pushes_missed_total',
      'Push frames meant for this peer that the peers it polls said they dropped.',
      one(s.sessionStats.pushes.missed),
    ),
  (s) =>
    gauge('conclave_peers_known', 'Peers discovery knows now.', one(s.runtime.knownPeers().length)),
  (s) => {
    const pins = Object.values(s.runtime.pins());
    return gauge(
      'conclave_pins',
      'Trust pins by state.',
      PIN_STATES.map((state) => ({
        labels: { state },
        value: pins.filter((p) => p.state === state).length,
      })),
    );
  },
  (s) =>
    counter(
      'conclave_beacons_sent_total',
      'Discovery beacons sent.',
      one(s.discoveryNumbers.beaconsSent ?? 0),
    ),
  (s) =>
    counter(
      'conclave_beacons_accepted_total',
      'Verified beacons received.',
      one(s.discoveryNumbers.beaconsAccepted ?? 0),
    ),
  (s) =>
    counter(
      'conclave_datagrams_dropped_total',
      'Discovery datagrams dropped, by reason.',
      byLabel('reason', s.discoveryNumbers.dropped),
    ),
  (s) =>
    counter(
      'conclave_beacon_peers_evicted_total',
      'Unpinned peers dropped from a full beacon table to make room for a pinned one.',
      one(s.discoveryNumbers.evicted ?? 0),
    ),
  (s) =>
    counter(
      'conclave_mdns_rejected_total',
      'mDNS service records refused, by reason.',
      byLabel('reason', s.discoveryNumbers.mdns?.rejected),
    ),
  (s) =>
    counter(
      'conclave_log_appended_total',
      'Events appended to the event log.',
      one(s.runtime.writer.appendedCount),
    ),
  (s) =>
    counter(
      'conclave_log_failed_total',
      'Events the log failed to append.',
      one(s.runtime.writer.failedCount),
    ),
  (s) =>
    gauge('conclave_log_pending', 'Events waiting to be appended.', one(s.runtime.writer.pending)),
  (s) =>
    histogram(
      'conclave_log_append_seconds',
      'Time one batched append to the event log took (durable when it returns), in seconds.',
      [s.runtime.writer.appendLatency],
    ),
];

/**
 * The process itself, under the names Prometheus clients use (`process_*`, `nodejs_*`), so a peer
 * run as a service shows up on the usual dashboards: CPU, resident memory, the V8 heap.
 */
export function processFamilies(): MetricFamily[] {
  // One `process.memoryUsage()` per scrape (it walks the heap spaces), shared by the families.
  const memory = new WeakMap<MetricsSnapshot, NodeJS.MemoryUsage>();
  const memoryOf = (s: MetricsSnapshot): NodeJS.MemoryUsage => {
    let m = memory.get(s);
    if (!m) memory.set(s, (m = process.memoryUsage()));
    return m;
  };
  return [
    () => {
      const c = process.cpuUsage();
      return counter(
        'process_cpu_seconds_total',
        'User and system CPU time spent, in seconds.',
        one((c.user + c.system) / 1e6),
      );
    },
    (s) =>
      gauge(
        'process_resident_memory_bytes',
        'Resident memory size, in bytes.',
        one(memoryOf(s).rss),
      ),
    (s) =>
      gauge('nodejs_heap_size_bytes', 'V8 heap, in bytes: used, and reserved in total.', [
        { labels: { kind: 'used' }, value: memoryOf(s).heapUsed },
        { labels: { kind: 'total' }, value: memoryOf(s).heapTotal },
      ]),
    (s) =>
      gauge(
        'nodejs_external_memory_bytes',
        'Memory of objects outside the V8 heap (Buffers, native), in bytes.',
        one(memoryOf(s).external),
      ),
  ];
}

/** The event log's retention (a bounded memory store): what it holds and what it dropped. */
export function retentionFamilies(store: Pick<EventStore, 'retention'>): MetricFamily[] {
  const r = store.retention?.bind(store);
  if (!r) return [];
  return [
    () =>
      gauge(
        'conclave_log_held_bytes',
        'Estimated JSON size of the events the memory log holds (it keeps the newest --log-retain).',
        one(r().heldBytes),
      ),
    () =>
      counter(
        'conclave_log_dropped_total',
        'Events the memory log dropped to stay within --log-retain.',
        one(r().droppedEvents),
      ),
  ];
}

/** The rooms families: what `Rooms.stats()` counts. */
export function roomFamilies(rooms: Pick<Rooms, 'stats'>): MetricFamily[] {
  const stats = (): ReturnType<Rooms['stats']> => rooms.stats();
  return [
    () => {
      const r = stats();
      return gauge('conclave_rooms', 'Rooms on this peer, hosted here or joined.', [
        { labels: { side: 'hosted' }, value: r.hosted },
        { labels: { side: 'member' }, value: r.rooms - r.hosted },
      ]);
    },
    () => {
      const r = stats();
      return counter(
        'conclave_room_messages_total',
        'Room messages by what happened to them here.',
        [
          { labels: { event: 'sent' }, value: r.counters.sent },
          { labels: { event: 'received' }, value: r.counters.received },
          { labels: { event: 'sequenced' }, value: r.sequenced },
          { labels: { event: 'refused' }, value: r.counters.refused },
        ],
      );
    },
    () =>
      counter(
        'conclave_room_deliveries_total',
        'Message deliveries fanned out by this host (messages × recipients).',
        one(stats().fanout),
      ),
    () => {
      const r = stats().rotations;
      return counter('conclave_rotations_total', 'Room key rotations by outcome.', [
        { labels: { outcome: 'started' }, value: r.started },
        { labels: { outcome: 'committed' }, value: r.committed },
      ]);
    },
    () =>
      counter(
        'conclave_rotation_laggards_total',
        'Members a rotation committed without (they get the key when they return).',
        one(stats().rotations.laggards),
      ),
  ];
}

/**
 * The Prometheus text for one scrape.
 *
 * @example
 * collectMetrics({ runtime, sessions, discovery, extra: [(s) => gauge('conclave_rooms', 'Rooms.', one(n))] });
 */
export function collectMetrics(deps: MetricsDeps & { extra?: readonly MetricFamily[] }): string {
  const snapshot: MetricsSnapshot = {
    ...deps,
    sessionStats: deps.sessions.stats(),
    discoveryNumbers: deps.discovery.diagnostics() as DiscoveryNumbers,
  };
  return formatPrometheus([...FAMILIES, ...(deps.extra ?? [])].map((f) => f(snapshot)));
}
