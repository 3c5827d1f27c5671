/**
 * Files a peer keeps in its data dir besides the keystore and the log: `api-token` (the local API
 * bearer token, created on first start) and `runtime.json` (how CLI commands find a running peer).
 * The dir is 0700 and both files 0600.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';

export interface RuntimeFile {
  readonly peerId: string;
  readonly name: string;
  readonly fingerprint: string;
  readonly peerUrl: string;
  readonly apiUrl: string;
  readonly pid: number;
  readonly startedAt: string;
}

export async function ensureDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const s = await stat(dir);
  if (!s.isDirectory()) {
    throw new AppError('ERR_INVALID_CONFIG', `data dir ${dir} exists and is not a directory`);
  }
  if ((s.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/** Write a file atomically with mode 0600 (temp file + rename). */
export async function writePrivateFile(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, path);
  await chmod(path, 0o600);
}

export async function loadOrCreateToken(dir: string): Promise<string> {
  const path = join(dir, 'api-token');
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (token.length >= 32) {
      await chmod(path, 0o600);
      return token;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = newToken();
  await writePrivateFile(path, `${token}\n`);
  return token;
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export async function writeRuntimeFile(dir: string, info: RuntimeFile): Promise<void> {
  await writePrivateFile(join(dir, 'runtime.json'), `${JSON.stringify(info, null, 2)}\n`);
}

export async function removeRuntimeFile(dir: string, pid: number): Promise<void> {
  const current = await readRuntimeFile(dir).catch(() => undefined);
  if (current?.pid === pid) await rm(join(dir, 'runtime.json'), { force: true });
}

export async function readRuntimeFile(dir: string): Promise<RuntimeFile | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'runtime.json'), 'utf8')) as RuntimeFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('ERR_INVALID_CONFIG', `cannot read ${join(dir, 'runtime.json')}`, {
      cause: err,
    });
  }
}

export async function readToken(dir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dir, 'api-token'), 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
