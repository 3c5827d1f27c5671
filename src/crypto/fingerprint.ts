/**
 * Fingerprints: the lowercase hex SHA-256 of a public key's SPKI DER. A fingerprint is a peer id,
 * so ids cannot be chosen apart from keys. Helpers here format and parse them for people.
 */
import { AppError } from '../errors.js';
import { sha256 } from './hash.js';

const FINGERPRINT = /^[0-9a-f]{64}$/;

/**
 * The fingerprint (= peer id) of an SPKI DER public key.
 *
 * @example
 * fingerprintOf(identity.publicKeyBytes) === identity.fingerprint; // true
 */
export function fingerprintOf(spkiDer: Uint8Array): string {
  return sha256(spkiDer).toString('hex');
}

/**
 * Whether `value` is a well-formed fingerprint (64 lowercase hex digits).
 *
 * @example
 * if (!isFingerprint(params.peerId)) return badRequest();
 */
export function isFingerprint(value: unknown): value is string {
  return typeof value === 'string' && FINGERPRINT.test(value);
}

/**
 * Fingerprint for humans: 16 groups of 4 hex digits.
 *
 * @example
 * formatFingerprint(fp); // '3f2a 9c01 … 7be4'
 */
export function formatFingerprint(fingerprint: string): string {
  checkFingerprint(fingerprint);
  return fingerprint.match(/.{4}/g)?.join(' ') ?? fingerprint;
}

/**
 * Read a fingerprint a person typed or pasted (any case, spaces or colons between digits) back
 * into canonical form; throws `ERR_INVALID_ARGUMENT` if it is not 64 hex digits.
 *
 * @example
 * parseFingerprint('3F2A 9C01 …'); // '3f2a9c01…'
 */
export function parseFingerprint(text: string): string {
  const canonical = text.replace(/[\s:]/g, '').toLowerCase();
  checkFingerprint(canonical);
  return canonical;
}

/**
 * A short display form of a peer id (first 12 hex digits, 48 bits). For display only: never use it
 * to look up or trust a peer.
 *
 * @example
 * shortPeerId(fp); // '3f2a9c0155de'
 */
export function shortPeerId(fingerprint: string): string {
  checkFingerprint(fingerprint);
  return fingerprint.slice(0, 12);
}

function checkFingerprint(fingerprint: string): void {
  if (!FINGERPRINT.test(fingerprint)) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'a fingerprint is 64 lowercase hex digits');
  }
}
