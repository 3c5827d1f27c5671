/**
 * Sealed session traffic (protocol §3, §4): the JSON envelope of sealed HTTP requests and
 * responses, the binary frame of sealed WebSocket push, the inner payloads they carry once opened,
 * and the re-key bodies. Pure parsing: decoders return a `Result` and never throw; encoders throw
 * `AppError` only for our own oversized or unserializable values. No cryptography here.
 *
 * ```
 * envelope  {v:1, type:'sealed', sid, epoch, seq, ct}      ct = base64url(ciphertext ‖ tag)
 * push      0x01 ‖ sidHash(8) ‖ epoch(u32 BE) ‖ seq(u64 BE) ‖ ciphertext ‖ tag(16)
 * ```
 */
import { z } from 'zod';
import { AppError } from '../errors.js';
import { err, ok, unsupportedVersion, type Result } from './result.js';

/** Largest serialized inner request or response (JSON bytes) one envelope carries. */
export const MAX_INNER_BYTES = 46 * 1024;
/** Largest serialized inner push payload one frame carries. */
export const MAX_PUSH_INNER_BYTES = 64 * 1024;
/** AES-GCM tag length: every ciphertext ends with one. */
export const SEALED_TAG_LENGTH = 16;
/** Largest envelope ct, in base64url characters (fits a 64 KiB HTTP body with room to spare). */
export const MAX_CT_CHARS = Math.ceil(((MAX_INNER_BYTES + SEALED_TAG_LENGTH) * 4) / 3);
/** Largest envelope as JSON text (for `parseSealedEnvelope` on response bodies). */
export const MAX_ENVELOPE_BYTES = MAX_CT_CHARS + 512;
/** Session ids as they appear on the wire and in routes. */
export const SID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
/** Largest epoch number (u32 in push frames). */
export const MAX_EPOCH = 0xffff_ffff;

export const PUSH_FRAME_VERSION = 0x01;
export const SID_HASH_LENGTH = 8;
/** version(1) ‖ sidHash(8) ‖ epoch(4) ‖ seq(8). */
export const PUSH_HEADER_LENGTH = 1 + SID_HASH_LENGTH + 4 + 8;
export const MAX_PUSH_FRAME_BYTES = PUSH_HEADER_LENGTH + MAX_PUSH_INNER_BYTES + SEALED_TAG_LENGTH;

/** The path of the sealed re-key requests (inner `path`). */
export const REKEY_PATH = '/session/rekey';

const B64URL = /^[A-Za-z0-9_-]*$/;
const U32 = 2 ** 32;

const SealedEnvelopeSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('sealed'),
  sid: z.string().regex(SID_PATTERN),
  epoch: z.number().int().min(0).max(MAX_EPOCH),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  ct: z
    .string()
    .min(Math.ceil((SEALED_TAG_LENGTH * 4) / 3))
    .max(MAX_CT_CHARS)
    .regex(B64URL),
});

/** A sealed envelope as it travels (JSON). */
export type SealedEnvelope = z.infer<typeof SealedEnvelopeSchema>;

/** A decoded envelope, `ct` as bytes. */
export interface SealedParts {
  readonly sid: string;
  readonly epoch: number;
  readonly seq: number;
  readonly ciphertext: Buffer;
}

/** A decoded push frame; `sidHash` and `ciphertext` are views into the frame (no copies). */
export interface PushFrameParts {
  readonly sidHash: Buffer;
  readonly epoch: number;
  readonly seq: number;
  readonly ciphertext: Buffer;
}

function base64UrlValue(code: number): number {
  if (code >= 65 && code <= 90) return code - 65;
  if (code >= 97 && code <= 122) return code - 71;
  if (code >= 48 && code <= 57) return code + 4;
  return code === 45 ? 62 : 63;
}

/** Canonical unpadded base64url, given that the characters were already checked. */
function hasCanonicalTail(text: string): boolean {
  const rem = text.length % 4;
  if (rem === 0) return true;
  if (rem === 1) return false;
  const last = base64UrlValue(text.charCodeAt(text.length - 1));
  return (last & (rem === 2 ? 0x0f : 0x03)) === 0;
}

function firstIssue(error: z.ZodError): string {
  const i = error.issues[0];
  return `${i?.path.join('.') ?? ''}: ${i?.message ?? ''}`;
}

/**
 * Decode an already-parsed JSON value (an express body) as a sealed envelope.
 *
 * @example
 * const r = decodeSealedEnvelope(req.body);
 * if (!r.ok) return problem(400, 'ERR_INVALID_MESSAGE');
 */
export function decodeSealedEnvelope(value: unknown): Result<SealedParts> {
  try {
    if (typeof value === 'object' && value !== null && 'v' in value && value.v !== 1) {
      return unsupportedVersion(value.v);
    }
    const r = SealedEnvelopeSchema.safeParse(value);
    if (!r.success) {
      const tooLong = r.error.issues.some((i) => i.code === 'too_big' && i.path[0] === 'ct');
      return err({ reason: tooLong ? 'oversized' : 'invalid', detail: firstIssue(r.error) });
    }
    const { sid, epoch, seq, ct } = r.data;
    if (!hasCanonicalTail(ct)) return err({ reason: 'invalid', detail: 'ct: not canonical' });
    const ciphertext = Buffer.from(ct, 'base64url');
    if (ciphertext.length < SEALED_TAG_LENGTH) {
      return err({ reason: 'invalid', detail: 'ct: shorter than a tag' });
    }
    return ok({ sid, epoch, seq, ciphertext });
  } catch {
    // Exotic inputs (getters that throw, revoked proxies) are malformed, never a crash.
    return err({ reason: 'malformed', detail: 'unreadable value' });
  }
}

/**
 * Parse envelope text or bytes (an HTTP response body), size-checked before `JSON.parse`.
 *
 * @example
 * const r = parseSealedEnvelope(await response.text());
 */
export function parseSealedEnvelope(text: string | Uint8Array): Result<SealedParts> {
  const length = typeof text === 'string' ? Buffer.byteLength(text) : text.byteLength;
  if (length > MAX_ENVELOPE_BYTES) return err({ reason: 'oversized', detail: `${length} bytes` });
  let raw: unknown;
  try {
    raw = JSON.parse(typeof text === 'string' ? text : Buffer.from(text).toString('utf8'));
  } catch {
    return err({ reason: 'malformed', detail: 'not JSON' });
  }
  return decodeSealedEnvelope(raw);
}

/**
 * Build the wire envelope for sealed bytes.
 *
 * @example
 * res.json(encodeSealedEnvelope(sid, epoch, seq, ciphertext));
 */
export function encodeSealedEnvelope(
  sid: string,
  epoch: number,
  seq: number,
  ciphertext: Uint8Array,
): SealedEnvelope {
  const ct = Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength);
  return { v: 1, type: 'sealed', sid, epoch, seq, ct: ct.toString('base64url') };
}

/**
 * Assemble a push frame. `sidHash` must be 8 bytes; epoch a u32; seq a safe integer.
 *
 * @example
 * link.send(encodePushFrame(sidHash, epoch, seq, ciphertext));
 */
export function encodePushFrame(
  sidHash: Uint8Array,
  epoch: number,
  seq: number,
  ciphertext: Uint8Array,
): Buffer {
  if (sidHash.byteLength !== SID_HASH_LENGTH) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'push frame: sid hash must be 8 bytes');
  }
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'push frame: epoch out of range');
  }
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'push frame: seq out of range');
  }
  const frame = Buffer.allocUnsafe(PUSH_HEADER_LENGTH + ciphertext.byteLength);
  frame[0] = PUSH_FRAME_VERSION;
  frame.set(sidHash, 1);
  frame.writeUInt32BE(epoch, 1 + SID_HASH_LENGTH);
  frame.writeUInt32BE(Math.floor(seq / U32), 5 + SID_HASH_LENGTH);
  frame.writeUInt32BE(seq % U32, 9 + SID_HASH_LENGTH);
  frame.set(ciphertext, PUSH_HEADER_LENGTH);
  return frame;
}

/**
 * Split a push frame into its parts (views, no copies).
 *
 * @example
 * const r = decodePushFrame(frame);
 * if (!r.ok) return count(r.error.reason);
 */
export function decodePushFrame(frame: unknown): Result<PushFrameParts> {
  if (!(frame instanceof Uint8Array)) return err({ reason: 'malformed', detail: 'not bytes' });
  if (frame.byteLength > MAX_PUSH_FRAME_BYTES) {
    return err({ reason: 'oversized', detail: `${frame.byteLength} bytes` });
  }
  if (frame.byteLength === 0) return err({ reason: 'malformed', detail: 'empty' });
  if (frame[0] !== PUSH_FRAME_VERSION) {
    return err({ reason: 'unsupported-version', detail: `version ${frame[0]}` });
  }
  if (frame.byteLength < PUSH_HEADER_LENGTH + SEALED_TAG_LENGTH) {
    return err({ reason: 'malformed', detail: 'truncated' });
  }
  const bytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const high = bytes.readUInt32BE(5 + SID_HASH_LENGTH);
  if (high >= 2 ** 21) return err({ reason: 'invalid', detail: 'seq beyond 2^53' });
  return ok({
    sidHash: bytes.subarray(1, 1 + SID_HASH_LENGTH),
    epoch: bytes.readUInt32BE(1 + SID_HASH_LENGTH),
    seq: high * U32 + bytes.readUInt32BE(9 + SID_HASH_LENGTH),
    ciphertext: bytes.subarray(PUSH_HEADER_LENGTH),
  });
}

// ---- inner payloads (what a sealed message carries once opened) ----

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const INNER_PATH = /^\/[\x21-\x7e]{0,511}$/;
const PUSH_TYPE = /^[a-z][a-z0-9.:_-]{0,63}$/;

const InnerRequestSchema = z.strictObject({
  method: z.enum(METHODS),
  path: z.string().regex(INNER_PATH),
  body: z.unknown().optional(),
});

const InnerResponseSchema = z.strictObject({
  status: z.number().int().min(100).max(599),
  body: z.unknown().optional(),
});

const InnerPushSchema = z.looseObject({
  type: z.string().regex(PUSH_TYPE),
});

/** A sealed HTTP request's plaintext: the whole request, not just a field. */
export type InnerRequest = z.infer<typeof InnerRequestSchema>;
/** A sealed HTTP response's plaintext. */
export type InnerResponse = z.infer<typeof InnerResponseSchema>;
/** A push frame's plaintext: any JSON object with a `type`. */
export type InnerPush = z.infer<typeof InnerPushSchema>;

function encodeJson(value: unknown, max: number): Buffer {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'sealed payload is not serializable', { cause });
  }
  if (text === undefined) throw new AppError('ERR_INVALID_ARGUMENT', 'sealed payload is empty');
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > max) {
    throw new AppError('ERR_BODY_TOO_LARGE', `sealed payload of ${bytes.length} bytes > ${max}`);
  }
  return bytes;
}

function decodeJson<T>(bytes: Uint8Array, max: number, schema: z.ZodType<T>): Result<T> {
  if (bytes.byteLength > max) return err({ reason: 'oversized', detail: `${bytes.byteLength}` });
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString());
  } catch {
    return err({ reason: 'malformed', detail: 'not JSON' });
  }
  const r = schema.safeParse(raw);
  return r.success ? ok(r.data) : err({ reason: 'invalid', detail: firstIssue(r.error) });
}

// Outbound values are ours and typed: a cheap shape check (the same rules as the schemas, which
// run on every inbound payload) catches programming errors without a schema pass per message.

/** Serialize an inner request; throws `ERR_BODY_TOO_LARGE` past `MAX_INNER_BYTES`. */
export function encodeInnerRequest(inner: InnerRequest): Buffer {
  const { method, path } = inner;
  const keys = Object.keys(inner);
  if (
    !(METHODS as readonly string[]).includes(method) ||
    typeof path !== 'string' ||
    !INNER_PATH.test(path) ||
    keys.some((k) => k !== 'method' && k !== 'path' && k !== 'body')
  ) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'not a valid inner request');
  }
  return encodeJson(inner, MAX_INNER_BYTES);
}

/** Serialize an inner response; throws `ERR_BODY_TOO_LARGE` past `MAX_INNER_BYTES`. */
export function encodeInnerResponse(inner: InnerResponse): Buffer {
  const { status } = inner;
  if (
    !Number.isInteger(status) ||
    status < 100 ||
    status > 599 ||
    Object.keys(inner).some((k) => k !== 'status' && k !== 'body')
  ) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'not a valid inner response');
  }
  return encodeJson(inner, MAX_INNER_BYTES);
}

/** Serialize an inner push payload; throws `ERR_BODY_TOO_LARGE` past `MAX_PUSH_INNER_BYTES`. */
/** Encoded push bodies by object: one fan-out frame sealed for many sessions is encoded once. */
const encodedPushes = new WeakMap<object, Buffer>();

/**
 * The JSON bytes of a push. The same object pushed to many peers is encoded once (cached by
 * identity): never mutate a push object after sealing it.
 */
export function encodeInnerPush(inner: InnerPush): Buffer {
  const cached = encodedPushes.get(inner);
  if (cached) return cached;
  if (typeof inner.type !== 'string' || !PUSH_TYPE.test(inner.type)) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'not a valid push payload');
  }
  const bytes = encodeJson(inner, MAX_PUSH_INNER_BYTES);
  encodedPushes.set(inner, bytes);
  return bytes;
}

export function decodeInnerRequest(bytes: Uint8Array): Result<InnerRequest> {
  return decodeJson(bytes, MAX_INNER_BYTES, InnerRequestSchema);
}

export function decodeInnerResponse(bytes: Uint8Array): Result<InnerResponse> {
  return decodeJson(bytes, MAX_INNER_BYTES, InnerResponseSchema);
}

export function decodeInnerPush(bytes: Uint8Array): Result<InnerPush> {
  return decodeJson(bytes, MAX_PUSH_INNER_BYTES, InnerPushSchema);
}

// ---- re-key bodies (§4.2), carried inside sealed requests to REKEY_PATH and their responses ----

const Eph = z
  .string()
  .length(43)
  .regex(/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/);
const Epoch = z.number().int().min(1).max(MAX_EPOCH);

const RekeyRequestBodySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('rekey'), epoch: Epoch, eph: Eph }),
  z.strictObject({ type: z.literal('rekey.confirm'), epoch: Epoch }),
]);

const RekeyResponseBodySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('rekey.accept'), epoch: Epoch, eph: Eph, for: Eph }),
  z.strictObject({
    type: z.literal('rekey.reject'),
    epoch: Epoch,
    reason: z.enum(['conflict', 'stale', 'invalid']),
  }),
  z.strictObject({ type: z.literal('rekey.confirmed'), epoch: Epoch }),
]);

/** Body of a sealed re-key request: start (`rekey`) or key confirmation (`rekey.confirm`). */
export type RekeyRequestBody = z.infer<typeof RekeyRequestBodySchema>;
/** Body of the sealed answer to a re-key request. */
export type RekeyResponseBody = z.infer<typeof RekeyResponseBodySchema>;

export function decodeRekeyRequestBody(value: unknown): Result<RekeyRequestBody> {
  const r = RekeyRequestBodySchema.safeParse(value);
  return r.success ? ok(r.data) : err({ reason: 'invalid', detail: firstIssue(r.error) });
}

export function decodeRekeyResponseBody(value: unknown): Result<RekeyResponseBody> {
  const r = RekeyResponseBodySchema.safeParse(value);
  return r.success ? ok(r.data) : err({ reason: 'invalid', detail: firstIssue(r.error) });
}
