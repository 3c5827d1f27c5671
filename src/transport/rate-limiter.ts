/**
 * Token buckets per key (a source address), with a bounded number of keys: a flood from many
 * forged sources cannot grow memory past `maxKeys`.
 */
export interface RateLimiterInit {
  /** Tokens added per second. */
  readonly ratePerSec: number;
  readonly burst: number;
  readonly maxKeys: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export interface RateLimiter {
  /** True when `key` may proceed at time `nowMs` (one token taken). */
  take(key: string, nowMs: number): boolean;
  readonly size: number;
}

export function createRateLimiter(init: RateLimiterInit): RateLimiter {
  const buckets = new Map<string, Bucket>();
  return {
    take(key, nowMs) {
      let b = buckets.get(key);
      if (b === undefined) {
        if (buckets.size >= init.maxKeys) {
          // Evict the least recently used key (Map keeps insertion order; we re-insert on use).
          const oldest = buckets.keys().next();
          if (!oldest.done) buckets.delete(oldest.value);
        }
        b = { tokens: init.burst, at: nowMs };
      } else {
        buckets.delete(key);
        b.tokens = Math.min(init.burst, b.tokens + ((nowMs - b.at) / 1000) * init.ratePerSec);
        b.at = nowMs;
      }
      buckets.set(key, b);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
    get size() {
      return buckets.size;
    },
  };
}
