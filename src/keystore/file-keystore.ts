/**
 * The durable keystore: one directory (mode 0700) holding `keystore.json` (the header), the
 * identity (`identity.key`) and one file per secret (`secret-<base32 id>.key`), each mode 0600 and
 * written atomically. Protection at rest is described in `protection.ts` and
 * `entry-envelope.ts`.
 */
import { join } from 'node:path';
import { wipe } from '../crypto/bytes.js';
import {
  exportPrivateKey,
  generateIdentity,
  importPrivateKey,
  type Identity,
  type IdentityKind,
} from '../crypto/identity.js';
import { AppError } from '../errors.js';
import {
  ensurePrivateDir,
  isTempFile,
  listFiles,
  readPrivateFile,
  secretFileName,
  secretIdOf,
  shredFile,
  writePrivateFileAtomic,
} from './key-files.js';
import {
  assertSecretId,
  assertSecretSize,
  identityKindMismatch,
  keystoreClosed,
  SECRET_ID_PATTERN,
  type Keystore,
} from './keystore.js';
import {
  corrupt,
  HEADER_FILE,
  MAX_ENTRY_FILE_BYTES,
  openEntry,
  sealEntry,
  wipeProtection,
  type Protection,
} from './entry-envelope.js';
import { createHeader, openHeader } from './protection.js';

/** User configuration of `createFileKeystore`. */
export interface FileKeystoreInit {
  /** The keys directory, normally `<dataDir>/keys`. Created 0700 if missing. */
  readonly dir: string;
  /** Wrap every file under a key derived from this passphrase (see `protection.ts`). */
  readonly passphrase?: string;
  /**
   * scrypt cost (log2 N) for a *new* passphrase-protected keystore; default 17, minimum 14. Only
   * tests should lower it. An existing keystore always uses the cost stored in its header.
   */
  readonly scryptLog2N?: number;
}

const IDENTITY_FILE = 'identity.key';
const MAX_HEADER_BYTES = 4096;

/**
 * Open the keystore in `init.dir`, creating it on first use (protected if a passphrase is given).
 * Throws `ERR_KEYSTORE_LOCKED` (protected, no passphrase), `ERR_BAD_PASSPHRASE`,
 * `ERR_KEYSTORE_CORRUPT`, or `ERR_INVALID_CONFIG` (e.g. a passphrase for an unprotected keystore).
 *
 * @example
 * const keystore = await createFileKeystore({ dir: join(dataDir, 'keys'), passphrase });
 * const me = await keystore.loadOrCreateIdentity('ed25519');
 */
export async function createFileKeystore(init: FileKeystoreInit): Promise<Keystore> {
  const { dir, passphrase } = init;
  if (passphrase !== undefined && passphrase.length === 0) {
    throw new AppError('ERR_INVALID_CONFIG', 'the keystore passphrase must not be empty');
  }
  await ensurePrivateDir(dir);
  const files = await listFiles(dir);
  // A crash between write and rename leaves a temp file that may hold a secret: shred it.
  for (const name of files.filter(isTempFile)) await shredFile(dir, name);

  let protection: Protection;
  const header = await readPrivateFile(join(dir, HEADER_FILE), MAX_HEADER_BYTES);
  if (header === undefined) {
    if (files.some((name) => name.endsWith('.key'))) throw corrupt(dir);
    const created = await createHeader(passphrase, init.scryptLog2N);
    await writePrivateFileAtomic(dir, HEADER_FILE, created.bytes);
    protection = created.protection;
  } else {
    protection = await openHeader(header, passphrase, dir);
  }
  return openKeystore(dir, protection);
}

function openKeystore(dir: string, protection: Protection): Keystore {
  let isClosed = false;
  let identityTask: Promise<Identity> | undefined;
  /** The protection, or `ERR_STORE_CLOSED`; checked again after every await. */
  const live = (): Protection => {
    if (isClosed) throw keystoreClosed();
    return protection;
  };

  const readEntry = async (name: string): Promise<Buffer | undefined> => {
    live();
    const file = await readPrivateFile(join(dir, name), MAX_ENTRY_FILE_BYTES);
    return file === undefined ? undefined : openEntry(live(), name, file, dir);
  };

  const writeEntry = async (name: string, data: Uint8Array): Promise<void> => {
    const sealed = sealEntry(live(), name, data);
    try {
      await writePrivateFileAtomic(dir, name, sealed);
    } finally {
      wipe(sealed);
    }
  };

  const loadOrCreate = async (kind: IdentityKind): Promise<Identity> => {
    const der = await readEntry(IDENTITY_FILE);
    if (der !== undefined) {
      try {
        return importPrivateKey(der);
      } catch {
        throw corrupt(dir, IDENTITY_FILE);
      } finally {
        wipe(der);
      }
    }
    const identity = await generateIdentity(kind);
    const fresh = exportPrivateKey(identity);
    try {
      await writeEntry(IDENTITY_FILE, fresh);
    } finally {
      wipe(fresh);
    }
    return identity;
  };

  /**
   * One operation at a time per secret: a delete shreds the file in place (after moving it out of
   * view), so a read of the same id that had already opened it would get the random bytes.
   */
  const busy = new Map<string, Promise<unknown>>();
  function serial<T>(id: string, run: () => Promise<T>): Promise<T> {
    const prev = busy.get(id) ?? Promise.resolve();
    const next = prev.then(run, run);
    const settled = next.catch(() => undefined);
    busy.set(id, settled);
    void settled.then(() => {
      if (busy.get(id) === settled) busy.delete(id);
    });
    return next;
  }

  return {
    isVolatile: false,

    async loadOrCreateIdentity(kind) {
      live();
      const task = (identityTask ??= loadOrCreate(kind));
      let identity: Identity;
      try {
        identity = await task;
      } catch (err) {
        if (identityTask === task) identityTask = undefined;
        throw err;
      }
      if (identity.kind !== kind)
        throw identityKindMismatch(`the keystore at ${dir}`, identity.kind, kind);
      return identity;
    },

    async putSecret(id, secret) {
      assertSecretId(id);
      assertSecretSize(secret);
      await serial(id, () => writeEntry(secretFileName(id), secret));
    },

    async getSecret(id) {
      assertSecretId(id);
      return serial(id, () => readEntry(secretFileName(id)));
    },

    async deleteSecret(id) {
      assertSecretId(id);
      live();
      await serial(id, () => shredFile(dir, secretFileName(id)));
    },

    async listSecrets(prefix = '') {
      live();
      const ids = (await listFiles(dir)).map(secretIdOf);
      return ids
        .filter((id): id is string => id !== undefined && SECRET_ID_PATTERN.test(id))
        .filter((id) => id.startsWith(prefix))
        .sort();
    },

    close() {
      if (!isClosed) {
        isClosed = true;
        identityTask = undefined;
        wipeProtection(protection);
      }
      return Promise.resolve();
    },
  };
}
