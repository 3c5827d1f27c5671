/** Gathers the numbers `GET /api/metrics` reports from the runtime, sessions and discovery. */
import type { PeerRuntime } from '../actors/peer-runtime.js';
import type { PeerSessions } from '../actors/peer-sessions.js';
import { formatPrometheus, type Metric } from '../transport/http/prometheus.js';
import type { RunningDiscovery } from './serve-discovery.js';

interface DiscoveryNumbers {
  beaconsSent?: number;
  beaconsAccepted?: number;
  dropped?: Record<string, number>;
}

export function collectMetrics(deps: {
  runtime: PeerRuntime;
  sessions: PeerSessions;
  discovery: RunningDiscovery;
}): string {
  const { runtime, sessions } = deps;
  const d = deps.discovery.diagnostics() as DiscoveryNumbers;
  const s = sessions.stats();
  const pins = Object.values(runtime.pins());
  const byTrust = (state: string): number => pins.filter((p) => p.state === state).length;
  const metrics: Metric[] = [
    {
      name: 'conclave_handshakes_total',
      help: 'Handshakes by role and result (established, or the failure reason).',
      type: 'counter',
      samples: s.handshakes.map((h) => ({
        labels: { role: h.role, result: h.result },
        value: h.count,
      })),
    },
    {
      name: 'conclave_sessions',
      help: 'Open sessions.',
      type: 'gauge',
      samples: [{ value: s.sessions }],
    },
    {
      name: 'conclave_session_links_up',
      help: 'Sessions whose WebSocket link is up.',
      type: 'gauge',
      samples: [{ value: s.linksUp }],
    },
    {
      name: 'conclave_peers_known',
      help: 'Peers discovery knows now.',
      type: 'gauge',
      samples: [{ value: runtime.knownPeers().length }],
    },
    {
      name: 'conclave_pins',
      help: 'Trust pins by state.',
      type: 'gauge',
      samples: ['unverified', 'verified', 'blocked'].map((state) => ({
        labels: { state },
        value: byTrust(state),
      })),
    },
    {
      name: 'conclave_beacons_sent_total',
      help: 'Discovery beacons sent.',
      type: 'counter',
      samples: [{ value: d.beaconsSent ?? 0 }],
    },
    {
      name: 'conclave_beacons_accepted_total',
      help: 'Verified beacons received.',
      type: 'counter',
      samples: [{ value: d.beaconsAccepted ?? 0 }],
    },
    {
      name: 'conclave_datagrams_dropped_total',
      help: 'Discovery datagrams dropped, by reason.',
      type: 'counter',
      samples: Object.entries(d.dropped ?? {}).map(([reason, n]) => ({
        labels: { reason },
        value: n,
      })),
    },
    {
      name: 'conclave_log_appended_total',
      help: 'Events appended to the event log.',
      type: 'counter',
      samples: [{ value: runtime.writer.appendedCount }],
    },
    {
      name: 'conclave_log_failed_total',
      help: 'Events the log failed to append.',
      type: 'counter',
      samples: [{ value: runtime.writer.failedCount }],
    },
    {
      name: 'conclave_log_pending',
      help: 'Events waiting to be appended.',
      type: 'gauge',
      samples: [{ value: runtime.writer.pending }],
    },
  ];
  return formatPrometheus(metrics);
}
