/**
 * Static peers (`--peer URL`): asked for their public identity now and then; an answer whose peer
 * id is the fingerprint of its key becomes a `peer.seen` (via `static`), a peer that stops
 * answering expires like a silent multicast peer.
 */
import type { DiscoveryEvent } from '../../machines/discovery.machine.js';
import { peerRequest } from '../../transport/http/peer-client.js';
import { checkHello } from '../../transport/http/peer-hello.js';

export interface StaticPeersInit {
  readonly urls: readonly string[];
  readonly selfPeerId: string;
  readonly intervalMs?: number;
  readonly failuresBeforeExpiry?: number;
}

export interface StaticPeers {
  start(): void;
  stop(): void;
  /** Per URL: last outcome, for diagnostics. */
  status(): ReadonlyArray<{ url: string; peerId: string | null; lastError: string | null }>;
}

export function createStaticPeers(
  init: StaticPeersInit,
  send: (e: DiscoveryEvent) => void,
): StaticPeers {
  const intervalMs = init.intervalMs ?? 10_000;
  const maxFailures = init.failuresBeforeExpiry ?? 3;
  const state = init.urls.map((url) => ({
    url: url.replace(/\/+$/, ''),
    peerId: null as string | null,
    failures: 0,
    lastError: null as string | null,
  }));
  let timer: NodeJS.Timeout | undefined;
  let isStopped = false;

  async function probe(s: (typeof state)[number]): Promise<void> {
    try {
      const r = await peerRequest(s.url, 'GET', '/p2p/v1/hello', undefined, {
        timeoutMs: 3_000,
        maxBytes: 16_384,
      });
      const proven = r.status === 200 ? checkHello(r.body, null) : undefined;
      if (!proven?.ok) {
        throw new Error(
          proven?.error === 'bad-key'
            ? 'peer id is not the fingerprint of its key'
            : `not a conclave peer (HTTP ${r.status})`,
        );
      }
      const peer = proven.value;
      if (peer.peerId === init.selfPeerId) throw new Error('that URL is this peer');
      if (isStopped) return;
      if (s.peerId !== null && s.peerId !== peer.peerId)
        send({ type: 'peer.expired', peerId: s.peerId, at: new Date().toISOString() });
      s.peerId = peer.peerId;
      s.failures = 0;
      s.lastError = null;
      send({
        type: 'peer.seen',
        peerId: peer.peerId,
        name: peer.name,
        kind: peer.kind,
        urls: [s.url],
        rooms: [],
        via: 'static',
        at: new Date().toISOString(),
      });
    } catch (e) {
      s.failures += 1;
      s.lastError = e instanceof Error ? e.message : String(e);
      if (s.peerId !== null && s.failures >= maxFailures && !isStopped) {
        send({ type: 'peer.expired', peerId: s.peerId, at: new Date().toISOString() });
        s.peerId = null;
      }
    }
  }

  const round = (): void => {
    void Promise.all(state.map(probe)).finally(() => {
      if (isStopped) return;
      timer = setTimeout(round, intervalMs);
      timer.unref();
    });
  };

  return {
    start() {
      if (state.length > 0) round();
    },
    stop() {
      isStopped = true;
      if (timer) clearTimeout(timer);
    },
    status: () => state.map(({ url, peerId, lastError }) => ({ url, peerId, lastError })),
  };
}
