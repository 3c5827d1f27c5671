/**
 * One view of "the peers": what discovery sees, what trust pins say, and (later) sessions.
 * Also resolves the abbreviated peer ids users type (a unique prefix of at least 4 hex digits).
 */
import { AppError } from '../errors.js';
import type { KnownPeer } from '../machines/discovery.machine.js';
import type { Pin } from '../machines/trust.machine.js';

export interface PeerView {
  readonly peerId: string;
  readonly name: string | null;
  readonly fingerprint: string;
  readonly kind: 'ed25519' | 'rsa' | null;
  readonly addresses: readonly string[];
  readonly via: string | null;
  readonly rooms: readonly unknown[];
  readonly trust: Pin['state'] | null;
  readonly lastSeen: string | null;
  readonly session: unknown;
}

export interface DirectorySources {
  readonly known: readonly KnownPeer[];
  readonly pins: Readonly<Record<string, Pin>>;
  readonly lastSeenMs: (peerId: string) => number | undefined;
  readonly formatFingerprint: (peerId: string) => string;
  readonly session?: (peerId: string) => unknown;
}

export function listPeers(src: DirectorySources): PeerView[] {
  const byId = new Map<string, PeerView>();
  for (const p of src.known) {
    const seen = src.lastSeenMs(p.peerId);
    byId.set(p.peerId, {
      peerId: p.peerId,
      name: p.name,
      fingerprint: src.formatFingerprint(p.peerId),
      kind: p.kind,
      addresses: p.urls,
      via: p.via,
      rooms: p.rooms,
      trust: src.pins[p.peerId]?.state ?? null,
      lastSeen: seen !== undefined ? new Date(seen).toISOString() : p.firstSeenAt,
      session: src.session?.(p.peerId) ?? null,
    });
  }
  for (const pin of Object.values(src.pins)) {
    if (byId.has(pin.peerId)) continue;
    byId.set(pin.peerId, {
      peerId: pin.peerId,
      name: pin.name,
      fingerprint: src.formatFingerprint(pin.peerId),
      kind: pin.kind,
      addresses: [],
      via: null,
      rooms: [],
      trust: pin.state,
      lastSeen: null,
      session: src.session?.(pin.peerId) ?? null,
    });
  }
  return [...byId.values()].sort(
    (a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.peerId.localeCompare(b.peerId),
  );
}

/** The full peer id for `prefix` among `candidates`; a full 64-hex id is accepted as is. */
export function resolvePeerId(prefix: string, candidates: Iterable<string>): string {
  const p = prefix.toLowerCase();
  if (/^[0-9a-f]{64}$/.test(p)) return p;
  const matches = [...new Set(candidates)].filter((c) => c.startsWith(p));
  if (matches.length === 1) return matches[0] as string;
  if (matches.length === 0) {
    throw new AppError('ERR_NOT_FOUND', `no known peer id starts with ${p} (see conclave peers)`);
  }
  throw new AppError(
    'ERR_INVALID_ARGUMENT',
    `${p} matches ${matches.length} peers; type more of the id`,
  );
}
