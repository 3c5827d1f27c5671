/**
 * Static peers (`--peer URL`): asked for their public identity now and then; an answer whose peer
 * id is the fingerprint of its key becomes a `peer.seen` (via `static`), a peer that stops
 * answering expires like a silent multicast peer.
 */
import { z } from 'zod';
import { importPublicKey } from '../../crypto/index.js';
import type { DiscoveryEvent } from '../../machines/discovery.machine.js';
import { peerRequest } from '../../transport/http/peer-client.js';

const Hello = z.object({
  v: z.literal(1),
  peerId: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string().min(1).max(64),
  identityKind: z.enum(['ed25519', 'rsa']),
  publicKey: z.string().min(40).max(2000),
});

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
      const hello = Hello.safeParse(r.body);
      if (r.status !== 200 || !hello.success)
        throw new Error(`not a conclave peer (HTTP ${r.status})`);
      const key = importPublicKey(hello.data.publicKey);
      if (key.fingerprint !== hello.data.peerId)
        throw new Error('peer id is not the fingerprint of its key');
      if (hello.data.peerId === init.selfPeerId) throw new Error('that URL is this peer');
      if (isStopped) return;
      if (s.peerId !== null && s.peerId !== hello.data.peerId)
        send({ type: 'peer.expired', peerId: s.peerId, at: new Date().toISOString() });
      s.peerId = hello.data.peerId;
      s.failures = 0;
      s.lastError = null;
      send({
        type: 'peer.seen',
        peerId: hello.data.peerId,
        name: hello.data.name,
        kind: hello.data.identityKind,
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
