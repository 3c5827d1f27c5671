/**
 * The envelope of one keystore entry file, for both protections (`protection.ts` sets them up):
 *
 * ```
 * plain:   "CKS1" ‖ 0x00 ‖ sha256(encodeFields('conclave/v1 keystore-checksum', [name, data])) ‖ data
 * wrapped: "CKS1" ‖ 0x01 ‖ nonce(12, random) ‖ AES-256-GCM(wrapKey, nonce, data, aad) ‖ tag(16)
 *          aad = encodeFields('conclave/v1 keystore-entry', [salt, name])
 * ```
 *
 * The file name is bound in both, so a file copied over another name reads as corrupt. Random
 * nonces are fine: a keystore writes a handful of files, far below GCM's 2^32 bound.
 */
import { randomBytes } from 'node:crypto';
import { gcmOpen, gcmSeal, GCM_NONCE_LENGTH } from '../crypto/aead.js';
import { constantTimeEqual, encodeFields, wipe } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';
import { AppError } from '../errors.js';
import { MAX_SECRET_BYTES } from './keystore.js';

/** The header file's name; `corrupt()` names it by default. */
export const HEADER_FILE = 'keystore.json';
/** Largest entry file: the biggest secret plus envelope overhead. */
export const MAX_ENTRY_FILE_BYTES = MAX_SECRET_BYTES + 1024;

const MAGIC = Buffer.from('CKS1', 'latin1');
const PLAIN = 0x00;
const WRAPPED = 0x01;
const CHECKSUM_LENGTH = 32;

/** The state one open keystore needs to read and write entries. */
export type Protection =
  | { readonly kind: 'none' }
  | { readonly kind: 'passphrase'; readonly salt: Buffer; readonly key: Buffer };

/**
 * The file bytes for an entry named `name` holding `data`.
 *
 * @example
 * await writePrivateFileAtomic(dir, name, sealEntry(protection, name, secret));
 */
export function sealEntry(protection: Protection, name: string, data: Uint8Array): Buffer {
  if (protection.kind === 'none') {
    return Buffer.concat([MAGIC, Buffer.of(PLAIN), checksum(name, data), data]);
  }
  const nonce = randomBytes(GCM_NONCE_LENGTH);
  const sealed = gcmSeal(protection.key, nonce, data, entryAad(protection.salt, name));
  return Buffer.concat([MAGIC, Buffer.of(WRAPPED), nonce, sealed]);
}

/**
 * The data in an entry file; anything wrong with it is `ERR_KEYSTORE_CORRUPT`.
 *
 * @example
 * const secret = openEntry(protection, name, await readFile(path), dir);
 */
export function openEntry(protection: Protection, name: string, file: Buffer, dir: string): Buffer {
  const head = MAGIC.length + 1;
  if (file.length < head || !file.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw corrupt(dir, name);
  }
  const body = file.subarray(head);
  if (protection.kind === 'none') {
    if (file[MAGIC.length] !== PLAIN || body.length < CHECKSUM_LENGTH) throw corrupt(dir, name);
    const data = body.subarray(CHECKSUM_LENGTH);
    if (!constantTimeEqual(checksum(name, data), body.subarray(0, CHECKSUM_LENGTH))) {
      throw corrupt(dir, name);
    }
    return Buffer.from(data);
  }
  if (file[MAGIC.length] !== WRAPPED) throw corrupt(dir, name);
  try {
    const nonce = body.subarray(0, GCM_NONCE_LENGTH);
    const aad = entryAad(protection.salt, name);
    return gcmOpen(protection.key, nonce, body.subarray(GCM_NONCE_LENGTH), aad);
  } catch {
    throw corrupt(dir, name);
  }
}

/**
 * Wipe the derived key of an open keystore.
 *
 * @example
 * await keystore.close(); // calls wipeProtection(protection)
 */
export function wipeProtection(protection: Protection): void {
  if (protection.kind === 'passphrase') wipe(protection.key);
}

/**
 * `ERR_KEYSTORE_CORRUPT`, naming the file but never its content.
 *
 * @example
 * throw corrupt(dir, 'identity.key');
 */
export function corrupt(dir: string, name: string = HEADER_FILE): AppError {
  return new AppError(
    'ERR_KEYSTORE_CORRUPT',
    `keystore file ${name} in ${dir} is damaged or was modified; restore it from a backup`,
  );
}

function checksum(name: string, data: Uint8Array): Buffer {
  return sha256(encodeFields('conclave/v1 keystore-checksum', [name, data]));
}

function entryAad(salt: Buffer, name: string): Buffer {
  return encodeFields('conclave/v1 keystore-entry', [salt, name]);
}
