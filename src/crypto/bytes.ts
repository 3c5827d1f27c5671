/**
 * Byte helpers every other crypto module builds on: constant-time comparison, the one
 * length-prefixed, domain-separated encoding that signatures, AAD and KDF inputs use, and strict
 * base64url.
 */
import { timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';

/** A value `encodeFields` can encode. Numbers must be safe integers. */
export type Field = Uint8Array | string | number | bigint;

/** Fixed prefix of every `encodeFields` output: the protocol name and version. */
export const ENCODING_MAGIC = 'conclave/v1';

const MAGIC_BYTES = Buffer.from(ENCODING_MAGIC, 'latin1');
const U32_MAX = 0xffff_ffff;

/** Type tags: a field's type is part of its encoding, so `5`, `5n`, `'5'` and `[0x35]` all differ. */
const TAG_BYTES = 0x01;
const TAG_STRING = 0x02;
const TAG_NUMBER = 0x03;
const TAG_BIGINT = 0x04;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Compare two byte strings in time that depends only on their length. Different lengths return
 * `false` (without throwing, unlike `crypto.timingSafeEqual`); lengths are not secret here.
 *
 * @example
 * if (!constantTimeEqual(expectedMac, receivedMac)) throw decryptFailed();
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return timingSafeEqual(a, b);
}

/**
 * Encode a domain label and a list of fields so that no two different `(domain, fields)` pairs
 * produce the same bytes. Layout (all integers big-endian):
 *
 * ```
 * "conclave/v1" ‖ u32 len(domain) ‖ utf8(domain) ‖ u32 count
 *   then per field: u8 tag ‖ u32 len(body) ‖ body
 *   bytes  (0x01): the bytes
 *   string (0x02): UTF-8 (strings with lone surrogates are refused: UTF-8 would merge them)
 *   number (0x03): i64 (safe integers only; -0 encodes as 0)
 *   bigint (0x04): u8 sign (0 = non-negative, 1 = negative) ‖ minimal big-endian magnitude
 * ```
 *
 * Signatures, AAD and KDF context always go through this, never through a bare concatenation.
 *
 * @example
 * const toSign = encodeFields('conclave/v1 handshake-request', [peerId, ephemeralPublic, timestamp]);
 */
export function encodeFields(domain: string, fields: ReadonlyArray<Field>): Buffer {
  if (domain.length === 0) throw new AppError('ERR_INVALID_ARGUMENT', 'encodeFields: empty domain');
  const domainBytes = utf8Strict(domain);
  const bodies: Array<{ tag: number; body: Uint8Array }> = [];
  let total = MAGIC_BYTES.length + 4 + domainBytes.length + 4;
  for (const field of fields) {
    const encoded = encodeField(field);
    if (encoded.body.byteLength > U32_MAX) {
      throw new AppError('ERR_INVALID_ARGUMENT', 'encodeFields: field too long');
    }
    bodies.push(encoded);
    total += 5 + encoded.body.byteLength;
  }
  const out = Buffer.allocUnsafe(total);
  let at = MAGIC_BYTES.copy(out, 0);
  at = out.writeUInt32BE(domainBytes.length, at);
  at += domainBytes.copy(out, at);
  at = out.writeUInt32BE(bodies.length, at);
  for (const { tag, body } of bodies) {
    at = out.writeUInt8(tag, at);
    at = out.writeUInt32BE(body.byteLength, at);
    out.set(body, at);
    at += body.byteLength;
  }
  return out;
}

function encodeField(field: Field): { tag: number; body: Uint8Array } {
  if (typeof field === 'string') return { tag: TAG_STRING, body: utf8Strict(field) };
  if (typeof field === 'number') {
    if (!Number.isSafeInteger(field)) {
      throw new AppError('ERR_INVALID_ARGUMENT', 'encodeFields: numbers must be safe integers');
    }
    const body = Buffer.allocUnsafe(8);
    body.writeBigInt64BE(BigInt(field));
    return { tag: TAG_NUMBER, body };
  }
  if (typeof field === 'bigint') {
    const negative = field < 0n;
    const magnitude = negative ? -field : field;
    const hex = magnitude === 0n ? '' : magnitude.toString(16);
    const digits = Buffer.from(hex.length % 2 === 1 ? `0${hex}` : hex, 'hex');
    return { tag: TAG_BIGINT, body: Buffer.concat([Buffer.of(negative ? 1 : 0), digits]) };
  }
  return { tag: TAG_BYTES, body: field };
}

function utf8Strict(text: string): Buffer {
  if (LONE_SURROGATE.test(text)) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'encodeFields: string is not well-formed UTF-16');
  }
  return Buffer.from(text, 'utf8');
}

/**
 * Encode bytes as unpadded base64url.
 *
 * @example
 * toBase64Url(Buffer.from([0xfb, 0xff])); // '-_8'
 */
export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Decode canonical, unpadded base64url strictly: any other character, padding, an impossible length
 * or non-zero trailing bits throw `ERR_INVALID_ARGUMENT` (Node's own decoder silently skips junk,
 * which would give two spellings of one key). With `expectedLength`, the decoded length must match.
 *
 * @example
 * const publicKey = fromBase64Url(wire.ephemeral, 32);
 */
export function fromBase64Url(text: string, expectedLength?: number): Buffer {
  if (!BASE64URL.test(text) || text.length % 4 === 1) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'not canonical base64url');
  }
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'not canonical base64url');
  }
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    throw new AppError('ERR_INVALID_ARGUMENT', `expected ${expectedLength} bytes`);
  }
  return bytes;
}

/**
 * Overwrite a buffer with zeros: best effort, since the GC may have copied it and strings cannot
 * be wiped.
 *
 * @example
 * try { use(key); } finally { wipe(key); }
 */
export function wipe(bytes: Uint8Array | undefined): void {
  bytes?.fill(0);
}
