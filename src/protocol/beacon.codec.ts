/**
 * Discovery beacons: small signed UDP datagrams a peer multicasts on the LAN.
 *
 * Wire: UTF-8 JSON `{v:1, type:'beacon', peerId, name, kind, publicKey, port, addrs, rooms, ts,
 * seq, sig}` of at most `MAX_BEACON_BYTES`. `sig` signs `beaconSigningFields(beacon)` under the
 * beacon signature domain; `peerId` must be the SHA-256 fingerprint of `publicKey`. Both checks
 * happen in the discovery actor; this codec only parses.
 */
import { z } from 'zod';
import { err, ok, unsupportedVersion, type Result } from './result.js';

/** Keeps a beacon inside one unfragmented datagram on any LAN. */
/** One unfragmented UDP datagram on Ethernet (1500 − 20 IP − 8 UDP): an RSA beacon fits too. */
export const MAX_BEACON_BYTES = 1_472;

const b64url = /^[A-Za-z0-9_-]+$/;

const AdvertisedRoom = z.object({
  roomId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  name: z.string().min(1).max(64),
  policy: z.enum(['open', 'password', 'invite', 'approval']),
});

const BeaconSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('beacon'),
  peerId: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string().min(1).max(64),
  kind: z.enum(['ed25519', 'rsa']),
  publicKey: z.string().min(40).max(700).regex(b64url),
  port: z.number().int().min(1).max(65535),
  addrs: z.array(z.string().min(7).max(45)).max(8),
  rooms: z.array(AdvertisedRoom).max(8),
  ts: z.number().int().min(0),
  seq: z.number().int().min(0),
  sig: z.string().min(40).max(700).regex(b64url),
});

export type Beacon = z.infer<typeof BeaconSchema>;
export type UnsignedBeacon = Omit<Beacon, 'sig'>;
export type AdvertisedRoom = z.infer<typeof AdvertisedRoom>;

/** The exact field list the signature covers, in order. */
export function beaconSigningFields(b: UnsignedBeacon): Array<string | number> {
  return [
    b.v,
    b.type,
    b.peerId,
    b.name,
    b.kind,
    b.publicKey,
    b.port,
    JSON.stringify(b.addrs),
    JSON.stringify(b.rooms),
    b.ts,
    b.seq,
  ];
}

export function encodeBeacon(b: Beacon): Buffer {
  const buf = Buffer.from(JSON.stringify(b), 'utf8');
  if (buf.length > MAX_BEACON_BYTES) {
    throw new RangeError(
      `beacon of ${buf.length} bytes exceeds ${MAX_BEACON_BYTES}; advertise fewer rooms`,
    );
  }
  return buf;
}

export function decodeBeacon(bytes: Uint8Array): Result<Beacon> {
  if (bytes.length > MAX_BEACON_BYTES) {
    return err({ reason: 'oversized', detail: `${bytes.length} bytes` });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
    );
  } catch {
    return err({ reason: 'malformed', detail: 'not JSON' });
  }
  if (typeof raw === 'object' && raw !== null && 'v' in raw && raw.v !== 1) {
    return unsupportedVersion(raw.v);
  }
  const r = BeaconSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    return err({ reason: 'invalid', detail: `${i?.path.join('.') ?? ''}: ${i?.message ?? ''}` });
  }
  return ok(r.data);
}
