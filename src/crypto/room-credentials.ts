/**
 * Room admission secrets (protocol §5.1): room password hashes (scrypt, checked in constant time)
 * and single-use invite tokens, of which the host keeps only a hash. Kept in the keystore, never in
 * the log.
 */
import { randomBytes, scrypt } from 'node:crypto';
import { constantTimeEqual, fromBase64Url, toBase64Url } from './bytes.js';
import { sha256 } from './hash.js';

// ---- room passwords ----

const SCRYPT = { log2N: 15, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const;

function scryptAsync(password: string, salt: Buffer, log2N: number, r: number, p: number) {
  const N = 2 ** log2N;
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(
      password.normalize('NFC'),
      salt,
      SCRYPT.keyLength,
      { N, r, p, maxmem: 256 * N * r },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

/**
 * A room password as `scrypt$log2N$r$p$salt$hash` (base64url). Kept in the keystore, never in the
 * log.
 *
 * @example
 * const stored = await hashRoomPassword('hunter2');
 * await verifyRoomPassword('hunter2', stored); // true
 */
export async function hashRoomPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltLength);
  const hash = await scryptAsync(password, salt, SCRYPT.log2N, SCRYPT.r, SCRYPT.p);
  return ['scrypt', SCRYPT.log2N, SCRYPT.r, SCRYPT.p, toBase64Url(salt), toBase64Url(hash)].join(
    '$',
  );
}

/** Check a password against `hashRoomPassword`'s output in constant time; false on any mismatch. */
export async function verifyRoomPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [log2N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![log2N, r, p].every((n) => Number.isInteger(n) && n > 0) || log2N > 20 || log2N < 10)
    return false;
  try {
    const salt = fromBase64Url(parts[4] ?? '');
    const expected = fromBase64Url(parts[5] ?? '');
    const actual = await scryptAsync(password, salt, log2N, r, p);
    return actual.length === expected.length && constantTimeEqual(actual, expected);
  } catch {
    return false;
  }
}

// ---- invite tokens ----

/** A fresh single-use invite secret (128 bits) and the hash the host keeps. */
export function newInviteToken(): { token: string; hash: string } {
  const token = toBase64Url(randomBytes(16));
  return { token, hash: inviteTokenHash(token) };
}

/** What the host records for an invite token: its SHA-256, never the token. */
export function inviteTokenHash(token: string): string {
  return sha256(Buffer.from(`conclave/v1 invite\0${token}`, 'utf8')).toString('hex');
}
