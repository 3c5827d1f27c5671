/**
 * Room wire messages (protocol §5), carried inside sealed session requests (member → host) and
 * sealed push frames (both ways), plus the invite code. Parsing happens here and only here.
 */
import { z } from 'zod';
import { MAX_SIGN_BATCH } from '../crypto/room-batch-sign.js';
import { err, ok, type Result } from './result.js';

export const ROOM_ID = /^[A-Za-z0-9_-]{16,64}$/;
const b64url = /^[A-Za-z0-9_-]*$/;
const PeerIdSchema = z.string().regex(/^[0-9a-f]{64}$/);
export const RoomIdSchema = z.string().regex(ROOM_ID);
const Iso = z.string().min(20).max(40);

/** Most UTF-8 bytes of one message's text. */
export const MAX_TEXT_BYTES = 8 * 1024;
export const ROOM_POLICIES = ['open', 'password', 'invite', 'approval'] as const;
export type RoomPolicy = (typeof ROOM_POLICIES)[number];
export const ROOM_ROLES = ['owner', 'admin', 'member'] as const;
export type RoomRole = (typeof ROOM_ROLES)[number];
export const ROOM_SUITES = ['aes-256-gcm', 'aes-256-cbc-hmac-sha256'] as const;

/** A message as its sender made it: header, ciphertext, signature. */
export const EnvelopeSchema = z.strictObject({
  roomId: RoomIdSchema,
  id: z
    .string()
    .min(8)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/),
  sender: PeerIdSchema,
  epoch: z.number().int().min(0).max(0xffff_ffff),
  sentAt: Iso,
  suite: z.enum(ROOM_SUITES),
  ct: z.string().min(40).max(16_384).regex(b64url),
  sig: z.string().min(80).max(700).regex(b64url),
  /** Leaf `i` of `n` under a batch signature (`sig` is then over the batch root; protocol §5.3). */
  batch: z
    .strictObject({
      i: z
        .number()
        .int()
        .min(0)
        .max(MAX_SIGN_BATCH - 1),
      n: z.number().int().min(2).max(MAX_SIGN_BATCH),
      path: z
        .string()
        .min(43)
        .max(Math.ceil((Math.log2(MAX_SIGN_BATCH) * 32 * 4) / 3))
        .regex(b64url),
    })
    .refine((b) => b.i < b.n, { message: 'batch index must be below its size' })
    .optional(),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** A message with the host's sequence number. */
export const SequencedSchema = z.strictObject({
  seq: z.number().int().min(1),
  env: EnvelopeSchema,
});
export type Sequenced = z.infer<typeof SequencedSchema>;

export const MemberWireSchema = z.strictObject({
  peerId: PeerIdSchema,
  name: z.string().min(1).max(64),
  role: z.enum(ROOM_ROLES),
  kind: z.enum(['ed25519', 'rsa']),
  publicKey: z.string().min(40).max(700).regex(b64url),
});
export type MemberWire = z.infer<typeof MemberWireSchema>;

export const RotationPolicySchema = z.strictObject({
  everyMessages: z
    .number()
    .int()
    .min(1)
    .max(2 ** 32)
    .nullable(),
  everyMinutes: z.number().min(0.01).max(525_600).nullable(),
  keepEpochs: z.number().int().min(0).max(1_000),
});

export const RoomWireSchema = z.strictObject({
  roomId: RoomIdSchema,
  name: z.string().min(1).max(64),
  topic: z.string().max(200),
  policy: z.enum(ROOM_POLICIES),
  capacity: z.number().int().min(1).max(5_000),
  suite: z.enum(ROOM_SUITES),
  host: PeerIdSchema,
  hostName: z.string().min(1).max(64),
  rotation: RotationPolicySchema,
  epoch: z.number().int().min(0),
  seq: z.number().int().min(0),
});
export type RoomWire = z.infer<typeof RoomWireSchema>;

export const WrappedKeySchema = z.strictObject({
  epoch: z.number().int().min(0),
  wrapped: z.string().min(40).max(200).regex(b64url),
});
export type WrappedKey = z.infer<typeof WrappedKeySchema>;

// ---- requests, member → host (sealed inner request bodies) ----

export const JoinRequestSchema = z.strictObject({
  roomId: RoomIdSchema,
  name: z.string().min(1).max(64),
  kind: z.enum(['ed25519', 'rsa']),
  publicKey: z.string().min(40).max(700).regex(b64url),
  password: z.string().min(1).max(256).optional(),
  invite: z.string().min(8).max(64).optional(),
});
export type JoinRequest = z.infer<typeof JoinRequestSchema>;

export const JoinGrantSchema = z.strictObject({
  state: z.literal('joined'),
  room: RoomWireSchema,
  kek: z.string().length(43).regex(b64url),
  keys: z.array(WrappedKeySchema).max(64),
  members: z.array(MemberWireSchema).max(5_000),
  role: z.enum(ROOM_ROLES),
});
export type JoinGrant = z.infer<typeof JoinGrantSchema>;

/** The host's answer to a join that waits for the owner's approval. */
export const PendingSchema = z.strictObject({ state: z.literal('pending'), room: RoomWireSchema });

export const FetchRequestSchema = z.strictObject({
  roomId: RoomIdSchema,
  after: z.number().int().min(0),
  limit: z.number().int().min(1).max(500),
});

export const FetchResultSchema = z.strictObject({
  msgs: z.array(SequencedSchema).max(500),
  seq: z.number().int().min(0),
  epoch: z.number().int().min(0),
  keys: z.array(WrappedKeySchema).max(64),
  members: z.array(MemberWireSchema).max(5_000).optional(),
  /** Present when `after` was below it: the host no longer holds messages up to this seq. */
  floor: z.number().int().min(0).optional(),
});
export type FetchResult = z.infer<typeof FetchResultSchema>;

export const RoomRefSchema = z.strictObject({ roomId: RoomIdSchema });

export const AdminRequestSchema = z.discriminatedUnion('op', [
  z.strictObject({ roomId: RoomIdSchema, op: z.literal('invite') }),
  z.strictObject({
    roomId: RoomIdSchema,
    op: z.literal('kick'),
    peerId: PeerIdSchema,
    ban: z.boolean(),
  }),
  z.strictObject({ roomId: RoomIdSchema, op: z.literal('approve'), peerId: PeerIdSchema }),
  z.strictObject({ roomId: RoomIdSchema, op: z.literal('rotate') }),
  z.strictObject({
    roomId: RoomIdSchema,
    op: z.literal('role'),
    peerId: PeerIdSchema,
    role: z.enum(['admin', 'member']),
  }),
]);
export type AdminRequest = z.infer<typeof AdminRequestSchema>;

// ---- pushes ----

export const RoomPushSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('room.send'), env: EnvelopeSchema }),
  z.strictObject({
    type: z.literal('room.ack'),
    roomId: RoomIdSchema,
    id: z.string().min(1).max(64),
    seq: z.number().int().min(1).optional(),
    code: z.string().max(64).optional(),
    detail: z.string().max(300).optional(),
  }),
  z.strictObject({
    type: z.literal('room.msgs'),
    roomId: RoomIdSchema,
    msgs: z.array(SequencedSchema).min(1).max(500),
  }),
  z.strictObject({
    type: z.literal('room.key'),
    roomId: RoomIdSchema,
    epoch: z.number().int().min(0),
    wrapped: z.string().min(40).max(200).regex(b64url),
  }),
  z.strictObject({
    type: z.literal('room.members'),
    roomId: RoomIdSchema,
    members: z.array(MemberWireSchema).max(5_000),
  }),
  z.strictObject({
    type: z.literal('room.key-ack'),
    roomId: RoomIdSchema,
    epoch: z.number().int().min(0),
  }),
  z.strictObject({
    type: z.literal('room.commit'),
    roomId: RoomIdSchema,
    epoch: z.number().int().min(0),
  }),
  z.strictObject({
    type: z.literal('room.removed'),
    roomId: RoomIdSchema,
    reason: z.enum(['kicked', 'banned', 'deleted']),
  }),
  z.strictObject({ type: z.literal('room.admitted'), grant: JoinGrantSchema }),
]);
export type RoomPush = z.infer<typeof RoomPushSchema>;

/** Whether a push type belongs to rooms. */
export function isRoomPushType(type: string): boolean {
  return type.startsWith('room.');
}

function firstIssue(error: z.ZodError): string {
  const i = error.issues[0];
  return `${i?.path.join('.') ?? ''}: ${i?.message ?? 'invalid'}`;
}

/** Decode an already-parsed value with `schema`, as a `Result` (never throws). */
export function decodeWith<T>(schema: z.ZodType<T>, value: unknown): Result<T> {
  try {
    const r = schema.safeParse(value);
    return r.success ? ok(r.data) : err({ reason: 'invalid', detail: firstIssue(r.error) });
  } catch {
    return err({ reason: 'malformed', detail: 'unreadable value' });
  }
}

// ---- invite codes ----

/** What an invite code carries: enough to find the host and check it is the right one. */
export interface Invite {
  readonly roomId: string;
  readonly roomName: string;
  /** The host's peer id (= its key fingerprint): the joiner refuses any other responder. */
  readonly host: string;
  readonly urls: readonly string[];
  readonly token: string;
  readonly expiresAt: string;
}

const InviteSchema = z.strictObject({
  v: z.literal(1),
  r: RoomIdSchema,
  n: z.string().min(1).max(64),
  h: PeerIdSchema,
  u: z.array(z.string().url().max(200)).max(4),
  t: z.string().min(16).max(64).regex(b64url),
  e: Iso,
});

const INVITE_PREFIX = 'cv1.';

/** `cv1.<base64url(json)>`: copy-pasteable, no spaces. */
export function encodeInvite(i: Invite): string {
  const json = JSON.stringify({
    v: 1,
    r: i.roomId,
    n: i.roomName,
    h: i.host,
    u: i.urls,
    t: i.token,
    e: i.expiresAt,
  });
  return INVITE_PREFIX + Buffer.from(json, 'utf8').toString('base64url');
}

export function decodeInvite(code: string): Result<Invite> {
  const text = code.trim();
  if (!text.startsWith(INVITE_PREFIX) || text.length > 2_000)
    return err({ reason: 'invalid', detail: 'an invite code starts with "cv1."' });
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text.slice(INVITE_PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    return err({ reason: 'malformed', detail: 'the invite code is damaged (copy it again)' });
  }
  const r = decodeWith(InviteSchema, value);
  if (!r.ok) return r;
  const d = r.value;
  return ok({ roomId: d.r, roomName: d.n, host: d.h, urls: d.u, token: d.t, expiresAt: d.e });
}

/** A room as beacons advertise it. */
export interface AdvertisedRoomLike {
  readonly roomId: string;
  readonly name: string;
  readonly policy: RoomPolicy;
}

// ---- room frames: one signed fan-out batch, the same bytes for every member ----

/** First byte of a room frame on a session link (a sealed push frame starts with 0x01). */
export const ROOM_FRAME_MARK = 0x52;
const MAX_ROOM_FRAME_BYTES = 256 * 1024;

const RoomBatchSchema = z.strictObject({
  roomId: RoomIdSchema,
  msgs: z.array(SequencedSchema).min(1).max(500),
});
export type RoomBatch = z.infer<typeof RoomBatchSchema>;

/**
 * `0x52 ‖ sigLength(u16) ‖ sig ‖ body`, body = UTF-8 JSON `{roomId, msgs}`; `sig` is the host's
 * signature over the body bytes. Not sealed per session: the envelopes inside are already
 * end-to-end encrypted and signed by their senders, and the host's signature binds room and
 * sequence numbers, so the host encodes and signs a batch once and sends the same bytes to every
 * member. (A LAN observer sees the metadata: room id, sequence numbers, senders, sizes.)
 */
export function encodeRoomFrame(body: Buffer, sig: Buffer): Buffer {
  const head = Buffer.allocUnsafe(3);
  head[0] = ROOM_FRAME_MARK;
  head.writeUInt16BE(sig.length, 1);
  return Buffer.concat([head, sig, body]);
}

export function roomBatchBody(batch: RoomBatch): Buffer {
  return Buffer.from(JSON.stringify(batch), 'utf8');
}

/** Split a room frame; the caller verifies `sig` over `body` before trusting `batch`. */
export function decodeRoomFrame(
  frame: Uint8Array,
): Result<{ batch: RoomBatch; body: Buffer; sig: Buffer }> {
  if (
    frame.byteLength < 3 ||
    frame[0] !== ROOM_FRAME_MARK ||
    frame.byteLength > MAX_ROOM_FRAME_BYTES
  )
    return err({ reason: 'malformed', detail: 'not a room frame' });
  const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const sigLength = buf.readUInt16BE(1);
  if (sigLength < 64 || sigLength > 1024 || 3 + sigLength >= buf.length)
    return err({ reason: 'malformed', detail: 'bad signature length' });
  const sig = buf.subarray(3, 3 + sigLength);
  const body = buf.subarray(3 + sigLength);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return err({ reason: 'malformed', detail: 'body is not JSON' });
  }
  const batch = decodeWith(RoomBatchSchema, value);
  return batch.ok ? ok({ batch: batch.value, body, sig }) : batch;
}
