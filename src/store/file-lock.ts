/**
 * The writer lock of a file log: a `LOCK` file holding `{pid, host, token, since}`, created
 * atomically with its content (written to a temp file, then `link`ed into place, which fails if a
 * lock exists). Another process opening the same log gets `ERR_STORE_LOCKED`.
 *
 * A lock left by a dead process (same host, `process.kill(pid, 0)` says ESRCH, or our own pid but
 * not a lock this process holds, as after a container restart) is stale and taken over: it is renamed aside first and only removed if it is still the lock judged stale, so two
 * openers racing for one stale lock cannot both win. A lock from another host cannot be checked
 * and is never taken over. Like every pid lock it trusts that pids are not reused within the
 * lifetime of a crashed lock, and it is advisory: it keeps conclave processes apart, nothing else.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../errors.js';

export const LOCK_FILE = 'LOCK';

interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly since: string;
}

export interface FileLock {
  /** Remove the lock if it is still ours. Idempotent. */
  release(): Promise<void>;
}

async function readLock(path: string): Promise<LockInfo | undefined> {
  try {
    const info = JSON.parse(await readFile(path, 'utf8')) as Partial<LockInfo>;
    if (
      typeof info.pid === 'number' &&
      typeof info.host === 'string' &&
      typeof info.token === 'string'
    ) {
      return { pid: info.pid, host: info.host, token: info.token, since: String(info.since) };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err;
  }
  return undefined; // unreadable: not written by us (ours are complete when they appear)
}

/** Tokens of the locks this process holds: tells our own live lock from a dead namesake's. */
const heldTokens = new Set<string>();

function isAlive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true;
  // Same pid: ours if we hold that token; otherwise a previous process that had our pid (pid 1
  // in a restarted container is the usual case) and is gone.
  if (info.pid === process.pid) return heldTokens.has(info.token);
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Create `target` holding `content` only if it does not exist (EEXIST otherwise). */
async function createExclusive(target: string, content: string, token: string): Promise<void> {
  const temp = `${target}.${token}.tmp`;
  const fh = await open(temp, 'w', 0o600);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(temp, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
    // A filesystem without hard links: fall back to O_EXCL (content is written just after).
    const fh2 = await open(target, 'wx', 0o600);
    await fh2.writeFile(content);
    await fh2.close();
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

function lockedError(
  dir: string,
  info: LockInfo | undefined,
  what = 'event log',
  file = LOCK_FILE,
): AppError {
  const who = info
    ? `process ${info.pid} on ${info.host} (since ${info.since})`
    : 'another process';
  return new AppError(
    'ERR_STORE_LOCKED',
    `${what} ${dir} is in use by ${who}; stop it first, or read its log through its local API` +
      (info && info.host !== hostname() ? `; if that host is gone, delete ${join(dir, file)}` : ''),
    { details: info ? { pid: info.pid, host: info.host } : {} },
  );
}

/**
 * Take the writer lock of the log directory `dir` (or of another directory one process owns:
 * `what` names it in the error, `file` is the lock's name in it).
 *
 * @example
 * const lock = await acquireFileLock('/var/lib/conclave/log');
 * try { … } finally { await lock.release(); }
 */
export async function acquireFileLock(
  dir: string,
  what = 'event log',
  file = LOCK_FILE,
): Promise<FileLock> {
  const path = join(dir, file);
  const token = randomBytes(12).toString('hex');
  const mine: LockInfo = {
    pid: process.pid,
    host: hostname(),
    token,
    since: new Date().toISOString(),
  };
  const content = `${JSON.stringify(mine)}\n`;

  for (let attempt = 0; attempt < 3; attempt++) {
    // Registered before the lock appears, so a concurrent opener in this process sees it as live.
    heldTokens.add(token);
    try {
      await createExclusive(path, content, token);
      return lockHandle(path, token);
    } catch (err) {
      heldTokens.delete(token);
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let held: LockInfo | undefined;
    try {
      held = await readLock(path);
    } catch {
      continue; // released meanwhile: try again
    }
    if (held && isAlive(held)) throw lockedError(dir, held, what, file);
    // Stale: move it aside, and remove it only if it is still the one we judged stale.
    const aside = `${path}.stale.${token}`;
    try {
      await rename(path, aside);
    } catch {
      continue;
    }
    const moved = await readLock(aside).catch(() => undefined);
    if (moved !== undefined && moved.token !== held?.token) {
      await link(aside, path).catch(() => undefined); // someone's fresh lock: put it back
      await unlink(aside).catch(() => undefined);
      throw lockedError(dir, moved, what, file);
    }
    await unlink(aside).catch(() => undefined);
  }
  throw lockedError(dir, await readLock(path).catch(() => undefined), what, file);
}

function lockHandle(path: string, token: string): FileLock {
  let isReleased = false;
  return {
    async release() {
      if (isReleased) return;
      isReleased = true;
      heldTokens.delete(token);
      const held = await readLock(path).catch(() => undefined);
      if (held?.token === token) await unlink(path).catch(() => undefined);
    },
  };
}
