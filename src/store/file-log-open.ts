/**
 * Opening a file log directory: create it (mode 0700), take the writer lock, verify the log against
 * its head file, drop a torn never-acknowledged tail, and leave the log file open for appends.
 *
 * Layout of `PATH/`: `events.jsonl` (the records, 0600), `head.json` (0600), `LOCK`.
 */
import { mkdir, open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AppError } from '../errors.js';
import { EMPTY_HEAD, readHead, writeHead, type LogHead } from './file-head.js';
import { acquireFileLock, type FileLock } from './file-lock.js';
import { verifyLog, type VerifiedLog } from './file-log-verify.js';

export const LOG_FILE = 'events.jsonl';

/** What open did to the file to make it appendable again. */
export interface FileRecovery {
  /** Bytes of a torn final record that was dropped (a write that crashed before its fsync). */
  readonly droppedBytes: number;
  /** The log's last position, after which the dropped bytes were. */
  readonly afterPosition: number;
  readonly message: string;
}

export interface OpenedLog {
  readonly dir: string;
  readonly lock: FileLock;
  /** The log file, opened for appending. */
  readonly file: FileHandle;
  readonly log: VerifiedLog;
  readonly recovered: FileRecovery | undefined;
}

async function ensureDir(dir: string, warn: (m: string) => void): Promise<void> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) {
      throw new AppError(
        'ERR_INVALID_CONFIG',
        `file:${dir} is not a directory (the file store needs a directory it owns)`,
      );
    }
    if ((s.mode & 0o077) !== 0) {
      warn(
        `event log directory ${dir} is accessible to other users (mode ${(s.mode & 0o777).toString(8)}); chmod 700 it`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dir, { recursive: true, mode: 0o700 });
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch {
    // Some platforms cannot fsync a directory; the rename/create is then as durable as it gets.
  } finally {
    await fh.close();
  }
}

async function readLogFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  }
}

/**
 * @example
 * const { file, log, lock } = await openLogDir('/var/lib/conclave/log', console.warn);
 */
export async function openLogDir(
  path: string,
  warn: (message: string) => void,
): Promise<OpenedLog> {
  const dir = resolve(path);
  await ensureDir(dir, warn);
  const lock = await acquireFileLock(dir);
  let file: FileHandle | undefined;
  try {
    const logPath = join(dir, LOG_FILE);
    let head: LogHead | undefined = await readHead(dir);
    const buf = await readLogFile(logPath);
    if (head === undefined && buf.length === 0) {
      head = EMPTY_HEAD; // a new log (or one whose first open crashed before any record)
      await writeHead(dir, head);
    }
    const log = verifyLog(buf, head);
    file = await open(logPath, 'a', 0o600);
    let recovered: FileRecovery | undefined;
    if (log.tornTail) {
      await file.truncate(log.validBytes);
      await file.datasync();
      recovered = {
        droppedBytes: log.tornTail.bytes,
        afterPosition: log.tornTail.afterPosition,
        message:
          `event log ${dir}: dropped a torn final record of ${log.tornTail.bytes} bytes after position ` +
          `${log.tornTail.afterPosition}; it was never acknowledged (a write interrupted before its fsync)`,
      };
      warn(recovered.message);
    }
    if (head === undefined || log.events.length > head.position) {
      await writeHead(dir, { position: log.events.length, hash: log.lastHash });
    }
    await syncDir(dir);
    return { dir, lock, file, log, recovered };
  } catch (err) {
    await file?.close().catch(() => undefined);
    await lock.release();
    throw err;
  }
}
