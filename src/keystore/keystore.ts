/**
 * Where a peer keeps its secrets: the identity private key, and named secrets such as room epoch
 * keys. Two implementations: `file-keystore.ts` (a 0700 directory of 0600 files, optionally
 * passphrase-wrapped) and `memory-keystore.ts` (volatile peers and tests).
 */
import type { Identity, IdentityKind } from '../crypto/identity.js';
import { AppError } from '../errors.js';

/**
 * The keystore contract; both implementations pass the same contract tests.
 *
 * @example
 * const keystore = await createFileKeystore({ dir: join(dataDir, 'keys'), passphrase });
 * const me = await keystore.loadOrCreateIdentity('ed25519');
 * await keystore.putSecret(`room:${roomId}:epoch:${epoch}`, roomKey);
 * const key = await keystore.getSecret(`room:${roomId}:epoch:${epoch}`);
 * await keystore.close();
 */
export interface Keystore {
  /** True when nothing is written to disk (the memory keystore). */
  readonly isVolatile: boolean;
  /**
   * Load the identity, creating and saving one of `kind` on first use. If a stored identity of
   * another kind exists, throw AppError('ERR_INVALID_CONFIG') explaining what to do.
   */
  loadOrCreateIdentity(kind: IdentityKind): Promise<Identity>;
  /** Store (or replace) a secret under `id` (see `SECRET_ID_PATTERN`). The bytes are copied. */
  putSecret(id: string, secret: Uint8Array): Promise<void>;
  /** A fresh copy of the secret (the caller may wipe it), or `undefined` if there is none. */
  getSecret(id: string): Promise<Buffer | undefined>;
  /** Shred: overwrite the file with random bytes, fsync, unlink; zero the in-memory copy. */
  deleteSecret(id: string): Promise<void>;
  /** Ids of the stored secrets starting with `prefix`, sorted. */
  listSecrets(prefix?: string): Promise<string[]>;
  /** Wipe in-memory key material; later calls throw `ERR_STORE_CLOSED`. */
  close(): Promise<void>;
}

/** Allowed secret ids: 1–128 of ASCII letters, digits and `: . _ -`. */
export const SECRET_ID_PATTERN = /^[a-z0-9:._-]{1,128}$/i;

/** Largest secret a keystore holds (secrets are keys, not data). */
export const MAX_SECRET_BYTES = 64 * 1024;

/**
 * Throw `ERR_INVALID_ARGUMENT` unless `id` is a valid secret id.
 *
 * @example
 * assertSecretId('room:abc:epoch:3'); // ok
 */
export function assertSecretId(id: string): void {
  if (!SECRET_ID_PATTERN.test(id)) {
    throw new AppError(
      'ERR_INVALID_ARGUMENT',
      'secret ids are 1-128 characters of [A-Za-z0-9:._-]',
    );
  }
}

/**
 * Throw `ERR_INVALID_ARGUMENT` for secrets that are empty or larger than `MAX_SECRET_BYTES`.
 *
 * @example
 * assertSecretSize(roomKey); // 1..65536 bytes
 */
export function assertSecretSize(secret: Uint8Array): void {
  if (secret.byteLength === 0 || secret.byteLength > MAX_SECRET_BYTES) {
    throw new AppError('ERR_INVALID_ARGUMENT', `secrets must be 1..${MAX_SECRET_BYTES} bytes`);
  }
}

/**
 * The error for a stored identity of another kind than requested.
 *
 * @example
 * if (stored.kind !== kind) throw identityKindMismatch(`the keystore at ${dir}`, stored.kind, kind);
 */
export function identityKindMismatch(
  where: string,
  stored: IdentityKind,
  wanted: IdentityKind,
): AppError {
  return new AppError(
    'ERR_INVALID_CONFIG',
    `${where} holds an ${stored} identity but ${wanted} was requested: start with --identity ${stored} ` +
      `to keep this identity, or use another data dir for a new ${wanted} identity`,
    { details: { stored, requested: wanted } },
  );
}

/**
 * The error for any use after `close()`.
 *
 * @example
 * if (isClosed) throw keystoreClosed();
 */
export function keystoreClosed(): AppError {
  return new AppError('ERR_STORE_CLOSED', 'keystore is closed');
}
