/**
 * How a keystore is protected at rest, as recorded in its header (`keystore.json`).
 *
 * Without a passphrase each entry carries a SHA-256 checksum (corruption is detected; secrecy
 * comes from file modes only). With one, a key is derived once per open and every entry is sealed
 * with AES-256-GCM under it (`entry-envelope.ts`):
 *
 * ```
 * wrapKey = HKDF-SHA256(scrypt(NFC(passphrase), salt, N = 2^17, r = 8, p = 1), salt, Labels.keystore)
 * ```
 *
 * scrypt N = 2^17, r = 8, p = 1 is OWASP's recommendation (about 128 MiB and 0.3–0.6 s once per
 * start); `maxmem` is set to twice the 128·N·r bytes scrypt needs so Node accepts it. The header
 * holds the salt, the parameters and a check value (the seal of an empty string), so a wrong
 * passphrase (`ERR_BAD_PASSPHRASE`) is told apart from a damaged file (`ERR_KEYSTORE_CORRUPT`).
 */
import { randomBytes, scrypt } from 'node:crypto';
import { gcmOpen, gcmSeal, GCM_NONCE_LENGTH, GCM_TAG_LENGTH } from '../crypto/aead.js';
import { encodeFields, fromBase64Url, toBase64Url, wipe } from '../crypto/bytes.js';
import { hkdfSha256, Labels } from '../crypto/hkdf.js';
import { AppError } from '../errors.js';
import { corrupt, type Protection } from './entry-envelope.js';

/** Default scrypt cost (log2 N). Tests may lower it to `MIN_SCRYPT_LOG2N`; opens use the header's. */
export const DEFAULT_SCRYPT_LOG2N = 17;
/** Lowest scrypt cost accepted when creating or opening a keystore. */
export const MIN_SCRYPT_LOG2N = 14;
const MAX_SCRYPT_LOG2N = 20;
const SCRYPT_R = 8;
/** Refuse headers asking scrypt for more than 1 GiB (a damaged or hostile header). */
const MAX_SCRYPT_MEMORY = 2 ** 30;
const SCRYPT_P = 1;
const SALT_LENGTH = 16;
const FORMAT = 'conclave-keystore';

interface WrappedHeader {
  readonly format: typeof FORMAT;
  readonly v: 1;
  readonly protection: 'scrypt-aes-256-gcm';
  readonly kdf: {
    readonly name: 'scrypt';
    readonly log2N: number;
    readonly r: number;
    readonly p: number;
    readonly salt: string;
  };
  readonly check: string;
}
type Header =
  { readonly format: typeof FORMAT; readonly v: 1; readonly protection: 'none' } | WrappedHeader;

/**
 * A header for a new keystore, and the protection it sets up.
 *
 * @example
 * const { bytes, protection } = await createHeader(passphrase);
 */
export async function createHeader(
  passphrase: string | undefined,
  log2N: number = DEFAULT_SCRYPT_LOG2N,
): Promise<{ bytes: Buffer; protection: Protection }> {
  if (passphrase === undefined) {
    const header: Header = { format: FORMAT, v: 1, protection: 'none' };
    return { bytes: Buffer.from(JSON.stringify(header)), protection: { kind: 'none' } };
  }
  if (!Number.isInteger(log2N) || log2N < MIN_SCRYPT_LOG2N || log2N > MAX_SCRYPT_LOG2N) {
    throw new AppError(
      'ERR_INVALID_CONFIG',
      `scrypt cost must be 2^${MIN_SCRYPT_LOG2N}..2^${MAX_SCRYPT_LOG2N}`,
    );
  }
  const salt = randomBytes(SALT_LENGTH);
  const key = await deriveKey(passphrase, salt, log2N, SCRYPT_R, SCRYPT_P);
  const nonce = randomBytes(GCM_NONCE_LENGTH);
  const check = Buffer.concat([nonce, gcmSeal(key, nonce, Buffer.alloc(0), checkAad(salt))]);
  const header: WrappedHeader = {
    format: FORMAT,
    v: 1,
    protection: 'scrypt-aes-256-gcm',
    kdf: { name: 'scrypt', log2N, r: SCRYPT_R, p: SCRYPT_P, salt: toBase64Url(salt) },
    check: toBase64Url(check),
  };
  return {
    bytes: Buffer.from(JSON.stringify(header)),
    protection: { kind: 'passphrase', salt, key },
  };
}

/**
 * Open an existing header with the given passphrase (or none). Refusals, with what to do:
 * a protected keystore without a passphrase is `ERR_KEYSTORE_LOCKED`, a wrong one
 * `ERR_BAD_PASSPHRASE`, a passphrase for an unprotected keystore `ERR_INVALID_CONFIG` (adding one
 * later is not supported: it would silently leave the old plaintext files' blocks on disk).
 *
 * @example
 * const protection = await openHeader(await readFile(headerPath), passphrase, dir);
 */
export async function openHeader(
  bytes: Buffer,
  passphrase: string | undefined,
  dir: string,
): Promise<Protection> {
  const header = parseHeader(bytes, dir);
  if (header.protection === 'none') {
    if (passphrase !== undefined) {
      throw new AppError(
        'ERR_INVALID_CONFIG',
        `the keystore at ${dir} is not passphrase-protected: start without a passphrase ` +
          `(adding one to an existing keystore is not supported)`,
      );
    }
    return { kind: 'none' };
  }
  if (passphrase === undefined) {
    throw new AppError(
      'ERR_KEYSTORE_LOCKED',
      `the keystore at ${dir} is passphrase-protected: supply its passphrase (CONCLAVE_PASSPHRASE)`,
    );
  }
  const { log2N, r, p } = header.kdf;
  const salt = decodeOrCorrupt(header.kdf.salt, dir);
  const check = decodeOrCorrupt(header.check, dir);
  if (salt.length !== SALT_LENGTH || check.length !== GCM_NONCE_LENGTH + GCM_TAG_LENGTH)
    throw corrupt(dir);
  const key = await deriveKey(passphrase, salt, log2N, r, p);
  try {
    gcmOpen(
      key,
      check.subarray(0, GCM_NONCE_LENGTH),
      check.subarray(GCM_NONCE_LENGTH),
      checkAad(salt),
    );
  } catch {
    wipe(key);
    throw new AppError(
      'ERR_BAD_PASSPHRASE',
      `wrong passphrase for the keystore at ${dir}: check it and try again`,
    );
  }
  return { kind: 'passphrase', salt, key };
}

function deriveKey(
  passphrase: string,
  salt: Buffer,
  log2N: number,
  r: number,
  p: number,
): Promise<Buffer> {
  const N = 2 ** log2N;
  const options = { N, r, p, maxmem: 2 * 128 * N * r };
  return new Promise((resolve, reject) => {
    scrypt(passphrase.normalize('NFC'), salt, 32, options, (err, stretched) => {
      if (err) return reject(err);
      try {
        resolve(hkdfSha256(stretched, salt, Labels.keystore, 32));
      } finally {
        wipe(stretched);
      }
    });
  });
}

function parseHeader(bytes: Buffer, dir: string): Header {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw corrupt(dir);
  }
  if (!isRecord(value) || value.format !== FORMAT || value.v !== 1) throw corrupt(dir);
  if (value.protection === 'none') return { format: FORMAT, v: 1, protection: 'none' };
  const kdf = value.kdf;
  if (
    value.protection !== 'scrypt-aes-256-gcm' ||
    typeof value.check !== 'string' ||
    !isRecord(kdf) ||
    kdf.name !== 'scrypt' ||
    typeof kdf.salt !== 'string' ||
    !isIntIn(kdf.log2N, MIN_SCRYPT_LOG2N, MAX_SCRYPT_LOG2N) ||
    !isIntIn(kdf.r, 1, 32) ||
    !isIntIn(kdf.p, 1, 16) ||
    128 * 2 ** kdf.log2N * kdf.r > MAX_SCRYPT_MEMORY
  ) {
    throw corrupt(dir);
  }
  return {
    format: FORMAT,
    v: 1,
    protection: 'scrypt-aes-256-gcm',
    kdf: { name: 'scrypt', log2N: kdf.log2N, r: kdf.r, p: kdf.p, salt: kdf.salt },
    check: value.check,
  };
}

function checkAad(salt: Buffer): Buffer {
  return encodeFields('conclave/v1 keystore-check', [salt]);
}

function decodeOrCorrupt(text: string, dir: string): Buffer {
  try {
    return fromBase64Url(text);
  } catch {
    throw corrupt(dir);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
