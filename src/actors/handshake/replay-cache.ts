/**
 * The responder's memory of offer nonces (protocol §2.2 check 4), and the general shape of a
 * bounded, expiring set of keys (the responder also uses one for recently used session streams). A nonce is remembered for
 * 2 × the freshness window after it was first seen: an offer carrying it passes the freshness
 * check at most that long, so after that a replay fails as `stale` anyway.
 *
 * Only nonces of **authentic** offers (identity bound, signature valid) are remembered; otherwise
 * anyone who saw a legitimate offer on the LAN could race a junk copy of its nonce and get the
 * real one refused. The size is bounded; when it is full of unexpired nonces the cache refuses to
 * add (`'full'`), and the responder answers "overloaded", rather than forget a live nonce and let
 * its offer be replayed.
 *
 * After a restart the cache is rebuilt from the log (`seedReplayCache`): each recorded
 * `offer.received` carries the nonce, the receive time and the facts, so a replay across a restart
 * is still caught.
 */

export interface ReplayCacheInit {
  /** The handshake freshness window; nonces are kept for twice this long. */
  readonly freshnessMs: number;
  /** Most nonces held at once (default 100 000, about 10 MB). */
  readonly maxEntries?: number;
}

export type ReplayAddResult = 'added' | 'present' | 'full';

export interface ReplayCache {
  /** Whether `nonce` was seen and has not expired at `nowMs`. */
  has(nonce: string, nowMs: number): boolean;
  /** Remember `nonce` first seen at `seenAtMs`, unless present (replay) or the cache is full. */
  add(nonce: string, seenAtMs: number, nowMs?: number): ReplayAddResult;
  /** Whether one more key fits at `nowMs` (after dropping expired ones). */
  hasRoom(nowMs: number): boolean;
  readonly size: number;
}

/**
 * Create an empty replay cache.
 *
 * @example
 * const cache = createReplayCache({ freshnessMs: 60_000 });
 * cache.add(offer.nonce, Date.now()); // 'added', then 'present' for a replay
 */
export function createReplayCache(init: ReplayCacheInit): ReplayCache {
  const keepMs = 2 * init.freshnessMs;
  const maxEntries = init.maxEntries ?? 100_000;
  // Insertion order is (almost) expiry order, so expired entries are dropped from the front.
  const expiries = new Map<string, number>();

  function prune(nowMs: number): void {
    for (const [nonce, expiresAt] of expiries) {
      if (expiresAt > nowMs) return;
      expiries.delete(nonce);
    }
  }

  return {
    has(nonce, nowMs) {
      const expiresAt = expiries.get(nonce);
      return expiresAt !== undefined && expiresAt > nowMs;
    },
    add(nonce, seenAtMs, nowMs = seenAtMs) {
      prune(nowMs);
      const known = expiries.get(nonce);
      if (known !== undefined && known > nowMs) return 'present';
      const expiresAt = seenAtMs + keepMs;
      if (expiresAt <= nowMs) return 'added'; // already past any window: nothing to remember
      if (known === undefined && expiries.size >= maxEntries) return 'full';
      expiries.delete(nonce);
      expiries.set(nonce, expiresAt);
      return 'added';
    },
    hasRoom(nowMs) {
      prune(nowMs);
      return expiries.size < maxEntries;
    },
    get size() {
      return expiries.size;
    },
  };
}

/** The part of a recorded event `seedReplayCache` reads. */
export interface RecordedOfferLike {
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/**
 * Rebuild a cache from recorded handshake events (any order; oldest first is best): every
 * `offer.received` of an authentic, first-seen offer adds its nonce at its receive time, exactly
 * the rule the live responder applies. Returns how many nonces were added.
 *
 * @example
 * const cache = createReplayCache({ freshnessMs });
 * seedReplayCache(cache, await store.readAll({ streamPrefix: 'session:' }), Date.now());
 */
export function seedReplayCache(
  cache: ReplayCache,
  records: Iterable<RecordedOfferLike>,
  nowMs: number,
): number {
  const seen: Array<{ nonce: string; at: number }> = [];
  for (const r of records) {
    if (r.type !== 'offer.received') continue;
    const { offer, facts, receivedAt } = r.data as {
      offer?: { nonce?: unknown };
      facts?: { isReplayed?: unknown; identityMatches?: unknown; signatureValid?: unknown };
      receivedAt?: unknown;
    };
    const at = typeof receivedAt === 'string' ? Date.parse(receivedAt) : Number.NaN;
    if (
      typeof offer?.nonce !== 'string' ||
      !Number.isFinite(at) ||
      facts?.identityMatches !== true ||
      facts.signatureValid !== true ||
      facts.isReplayed !== false
    ) {
      continue;
    }
    seen.push({ nonce: offer.nonce, at });
  }
  seen.sort((a, b) => a.at - b.at);
  let added = 0;
  for (const { nonce, at } of seen) {
    if (cache.add(nonce, at, nowMs) === 'added' && cache.has(nonce, nowMs)) added++;
  }
  return added;
}
