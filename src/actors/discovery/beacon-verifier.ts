/**
 * Decides whether a received datagram is a genuine, fresh beacon from another peer. Cheap checks
 * run first (size, rate, parse, freshness, replay) so a flood of forgeries costs little; the key
 * import and signature check run last. Every rejection has a reason, counted for diagnostics.
 */
import { importPublicKey, SignatureDomains, verify } from '../../crypto/index.js';
import { fromBase64Url } from '../../crypto/bytes.js';
import { beaconSigningFields, decodeBeacon, type Beacon } from '../../protocol/beacon.codec.js';
import { createRateLimiter } from '../../transport/rate-limiter.js';

export type BeaconDropReason =
  | 'oversized'
  | 'malformed'
  | 'unsupported-version'
  | 'invalid'
  | 'rate-limited'
  | 'stale'
  | 'replayed'
  | 'spoofed'
  | 'bad-signature';

export type BeaconVerdict =
  | { readonly ok: true; readonly beacon: Beacon }
  | { readonly ok: false; readonly reason: BeaconDropReason | 'self' };

export interface BeaconVerifierInit {
  readonly selfPeerId: string;
  /** Accepted clock difference between sender and us (default 30 s). */
  readonly freshnessMs?: number;
  /** Per source address (default 4/s, burst 8). */
  readonly ratePerSec?: number;
  readonly burst?: number;
  /** Bound on remembered sources and peers (default 1024). */
  readonly maxTracked?: number;
}

export interface BeaconVerifier {
  check(bytes: Buffer, sourceAddress: string, nowMs: number): BeaconVerdict;
  readonly dropped: Readonly<Record<BeaconDropReason, number>>;
}

export function createBeaconVerifier(init: BeaconVerifierInit): BeaconVerifier {
  const freshnessMs = init.freshnessMs ?? 30_000;
  const maxTracked = init.maxTracked ?? 1024;
  const limiter = createRateLimiter({
    ratePerSec: init.ratePerSec ?? 4,
    burst: init.burst ?? 8,
    maxKeys: maxTracked,
  });
  /** peerId → last accepted (ts, seq); bounded LRU. */
  const lastSeen = new Map<string, { ts: number; seq: number }>();
  const dropped: Record<BeaconDropReason, number> = {
    oversized: 0,
    malformed: 0,
    'unsupported-version': 0,
    invalid: 0,
    'rate-limited': 0,
    stale: 0,
    replayed: 0,
    spoofed: 0,
    'bad-signature': 0,
  };
  const drop = (reason: BeaconDropReason): BeaconVerdict => {
    dropped[reason] += 1;
    return { ok: false, reason };
  };

  return {
    dropped,
    check(bytes, sourceAddress, nowMs) {
      if (!limiter.take(sourceAddress, nowMs)) return drop('rate-limited');
      const decoded = decodeBeacon(bytes);
      if (!decoded.ok) return drop(decoded.error.reason);
      const b = decoded.value;
      if (b.peerId === init.selfPeerId) return { ok: false, reason: 'self' };
      if (Math.abs(nowMs - b.ts) > freshnessMs) return drop('stale');
      const prev = lastSeen.get(b.peerId);
      if (prev !== undefined && (b.ts < prev.ts || (b.ts === prev.ts && b.seq <= prev.seq))) {
        return drop('replayed');
      }
      let peerKey;
      try {
        peerKey = importPublicKey(b.publicKey);
      } catch {
        return drop('invalid');
      }
      if (peerKey.fingerprint !== b.peerId || peerKey.kind !== b.kind) return drop('spoofed');
      const { sig, ...unsigned } = b;
      let sigBytes: Buffer;
      try {
        sigBytes = fromBase64Url(sig);
      } catch {
        return drop('invalid');
      }
      if (
        !verify(peerKey.publicKey, SignatureDomains.beacon, beaconSigningFields(unsigned), sigBytes)
      ) {
        return drop('bad-signature');
      }
      lastSeen.delete(b.peerId);
      lastSeen.set(b.peerId, { ts: b.ts, seq: b.seq });
      if (lastSeen.size > maxTracked) {
        const oldest = lastSeen.keys().next();
        if (!oldest.done) lastSeen.delete(oldest.value);
      }
      return { ok: true, beacon: b };
    },
  };
}
