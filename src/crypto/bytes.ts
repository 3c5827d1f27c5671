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
  // Sized first, then written into one buffer: no buffer per field (this runs for every sealed
  // message's AAD, every signature and every room message).
  let total = MAGIC_BYTES.length + 4 + utf8Length(domain) + 4;
  let bigints: Buffer[] | undefined;
  for (const field of fields) {
    let length: number;
    if (typeof field === 'string') length = utf8Length(field);
    else if (typeof field === 'number') length = checkSafeInteger(field);
    else if (typeof field === 'bigint') {
      const body = bigintBody(field);
      (bigints ??= []).push(body);
      length = body.length;
    } else length = field.byteLength;
    if (length > U32_MAX)
      throw new AppError('ERR_INVALID_ARGUMENT', 'encodeFields: field too long');
    total += 5 + length;
  }
  const out = Buffer.allocUnsafe(total);
  let at = MAGIC_BYTES.copy(out, 0);
  at = out.writeUInt32BE(Buffer.byteLength(domain, 'utf8'), at);
  at += out.write(domain, at, 'utf8');
  at = out.writeUInt32BE(fields.length, at);
  let nextBigint = 0;
  for (const field of fields) {
    if (typeof field === 'string') {
      out[at] = TAG_STRING;
      const written = out.write(field, at + 5, 'utf8');
      out.writeUInt32BE(written, at + 1);
      at += 5 + written;
    } else if (typeof field === 'number') {
      out[at] = TAG_NUMBER;
      out.writeUInt32BE(8, at + 1);
      writeI64(out, field, at + 5);
      at += 13;
    } else {
      const body = typeof field === 'bigint' ? (bigints?.[nextBigint++] as Buffer) : field;
      out[at] = typeof field === 'bigint' ? TAG_BIGINT : TAG_BYTES;
      out.writeUInt32BE(body.byteLength, at + 1);
      out.set(body, at + 5);
      at += 5 + body.byteLength;
    }
  }
  return out;
}

/** UTF-8 length of a well-formed string (lone surrogates refused: UTF-8 would merge them). */
function utf8Length(text: string): number {
  if (!(text as string & { isWellFormed(): boolean }).isWellFormed()) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'encodeFields: string is not well-formed UTF-16');
  }
  return Buffer.byteLength(text, 'utf8');
}

function checkSafeInteger(n: number): 8 {
  if (!Number.isSafeInteger(n)) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'encodeFields: numbers must be safe integers');
  }
  return 8;
}

/** A safe integer as i64 big-endian (-0 as 0), without a BigInt for the non-negative ones. */
function writeI64(out: Buffer, n: number, at: number): void {
  if (n >= 0) {
    out.writeUInt32BE(Math.floor(n / 0x1_0000_0000), at);
    out.writeUInt32BE(n % 0x1_0000_0000, at + 4);
  } else out.writeBigInt64BE(BigInt(n), at);
}

/** u8 sign (0 = non-negative, 1 = negative) ‖ minimal big-endian magnitude. */
function bigintBody(field: bigint): Buffer {
  const negative = field < 0n;
  const magnitude = negative ? -field : field;
  const hex = magnitude === 0n ? '' : magnitude.toString(16);
  const digits = Buffer.from(hex.length % 2 === 1 ? `0${hex}` : hex, 'hex');
  return Buffer.concat([Buffer.of(negative ? 1 : 0), digits]);
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
