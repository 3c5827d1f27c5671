/**
 * The disk side of the file keystore: a 0700 directory of 0600 files, written atomically (temp file,
 * fsync, rename, fsync of the directory) and shredded on delete. Secret ids map to file names by
 * lowercase base32, which is reversible and safe on case-insensitive file systems.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { base32Decode, base32Encode } from './base32.js';

/** Mode of the keys directory. */
export const DIR_MODE = 0o700;
/** Mode of every file in it. */
export const FILE_MODE = 0o600;
const SECRET_PREFIX = 'secret-';
const KEY_SUFFIX = '.key';
const TEMP_SUFFIX = '.tmp';
// O_NOFOLLOW: never read or shred through a symlink planted in the keys dir (0 where unsupported).
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** A private temp name beside `name` (`isTempFile` recognises it; shredded at open if left). */
const tempName = (name: string): string =>
  `.${name}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;

/**
 * Create `dir` (0700) if needed, and tighten it to 0700 if it exists with looser permissions.
 * A path that exists but is not a directory (a symlink included) is `ERR_INVALID_CONFIG`.
 *
 * @example
 * await ensurePrivateDir(join(dataDir, 'keys'));
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw err;
  }
  let stats: Stats | undefined;
  try {
    stats = await lstat(dir);
  } catch {
    stats = undefined;
  }
  if (stats?.isDirectory() !== true) {
    throw new AppError(
      'ERR_INVALID_CONFIG',
      `keystore path ${dir} is not a directory (symlinks are refused): choose another data dir`,
    );
  }
  if (process.platform !== 'win32' && (stats.mode & 0o077) !== 0) await chmod(dir, DIR_MODE);
}

/**
 * File name of a secret: `secret-<base32(id)>.key` (at most 216 characters for a 128-char id).
 *
 * @example
 * secretFileName('room:r1'); // 'secret-ojxw63j2oiyq.key'
 */
export function secretFileName(id: string): string {
  return `${SECRET_PREFIX}${base32Encode(Buffer.from(id, 'utf8'))}${KEY_SUFFIX}`;
}

/**
 * The secret id a file name stands for, or `undefined` for any other file.
 *
 * @example
 * secretIdOf('secret-ojxw63j2oiyq.key'); // 'room:r1'
 */
export function secretIdOf(fileName: string): string | undefined {
  if (!fileName.startsWith(SECRET_PREFIX) || !fileName.endsWith(KEY_SUFFIX)) return undefined;
  const bytes = base32Decode(fileName.slice(SECRET_PREFIX.length, -KEY_SUFFIX.length));
  return bytes?.toString('utf8');
}

/**
 * Names of the entries in `dir`.
 *
 * @example
 * const names = await listFiles(dir);
 */
export async function listFiles(dir: string): Promise<string[]> {
  return readdir(dir);
}

/**
 * Whether a name is a leftover temp file from an interrupted write.
 *
 * @example
 * isTempFile('.identity.key.0a1b2c3d4e5f.tmp'); // true
 */
export function isTempFile(fileName: string): boolean {
  return fileName.startsWith('.') && fileName.endsWith(TEMP_SUFFIX);
}

/**
 * Read a file, or `undefined` if it does not exist. Files over `maxBytes` are
 * `ERR_KEYSTORE_CORRUPT`; a file with permissions looser than 0600 is tightened first.
 *
 * @example
 * const bytes = await readPrivateFile(join(dir, 'identity.key'), 64 * 1024);
 */
export async function readPrivateFile(path: string, maxBytes: number): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | NOFOLLOW);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  try {
    const stats: Stats = await handle.stat();
    if (!stats.isFile() || stats.size > maxBytes) {
      throw new AppError(
        'ERR_KEYSTORE_CORRUPT',
        `keystore file ${path} is not a plausible key file`,
      );
    }
    if (process.platform !== 'win32' && (stats.mode & 0o077) !== 0) await handle.chmod(FILE_MODE);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Write `data` to `path` atomically with mode 0600: temp file, fsync, rename, fsync the directory.
 *
 * @example
 * await writePrivateFileAtomic(dir, 'identity.key', sealed);
 */
export async function writePrivateFileAtomic(
  dir: string,
  name: string,
  data: Uint8Array,
): Promise<void> {
  const temp = join(dir, tempName(name));
  const handle = await open(temp, 'wx', FILE_MODE);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(dir, name));
  } catch (err) {
    // What reached the temp file may be the secret itself (an unprotected keystore): shred it.
    await shredPath(temp).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

/**
 * Shred a file: move it out of view under a private temp name (an atomic rename: a reader sees
 * the old contents or nothing, never the random bytes), overwrite it there with random bytes,
 * fsync, unlink, fsync the directory. A missing file is fine, also when two shreds race. (On
 * copy-on-write or wear-levelled storage the old blocks may survive; passphrase wrapping is the
 * real protection at rest.) A temp file left by a crash is shredded at the next open.
 *
 * @example
 * await shredFile(dir, secretFileName('room:r1:epoch:1'));
 */
export async function shredFile(dir: string, name: string): Promise<void> {
  const path = join(dir, name);
  const hidden = isTempFile(name) ? path : join(dir, tempName(name));
  if (hidden !== path) {
    try {
      await rename(path, hidden);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }
  await shredPath(hidden);
  await syncDir(dir);
}

/** Overwrite a file no one else looks at with random bytes, fsync and unlink it. */
async function shredPath(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, constants.O_RDWR | NOFOLLOW);
  } catch (err) {
    if (isNotFound(err)) return;
    // A symlink planted in the keys dir: remove the link, never write through it.
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return unlinkIfThere(path);
    throw err;
  }
  try {
    const { size } = await handle.stat();
    if (size > 0) await handle.write(randomBytes(size), 0, size, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await unlinkIfThere(path);
}

async function unlinkIfThere(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** fsync a directory so a rename or unlink in it is durable (not supported on Windows). */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
