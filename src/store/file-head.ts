/**
 * The head file of the file store: `{"v":1,"position":P,"hash":"<hex>"}`, the last position and
 * record hash the log had reached when an append was acknowledged. It is what lets open detect a
 * log that lost whole trailing records (a log cut at a record boundary still verifies on its own).
 *
 * Written atomically after each batch's fsync and before the batch is acknowledged: temp file,
 * fsync, rename. The directory is not fsync'd per batch: if a crash loses the rename, the head
 * merely lags, and records beyond a lagging head are accepted when they verify (see
 * `file-log-verify.ts`), so no acknowledged event is lost; only truncation detection is weaker
 * for that one batch.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { LogCorruptError } from '../errors.js';
import { GENESIS_HASH } from './file-record.js';

export const HEAD_FILE = 'head.json';
const HEAD_TEMP = 'head.json.tmp';

export interface LogHead {
  readonly position: number;
  readonly hash: string;
}

export const EMPTY_HEAD: LogHead = Object.freeze({ position: 0, hash: GENESIS_HASH });

/**
 * Read the head file of the log in `dir`; `undefined` when there is none.
 *
 * @example
 * const head = (await readHead(dir)) ?? EMPTY_HEAD;
 */
export async function readHead(dir: string): Promise<LogHead | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, HEAD_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const h = parsed as { v?: unknown; position?: unknown; hash?: unknown } | undefined;
  if (
    typeof h !== 'object' ||
    h === null ||
    h.v !== 1 ||
    typeof h.position !== 'number' ||
    !Number.isSafeInteger(h.position) ||
    h.position < 0 ||
    typeof h.hash !== 'string' ||
    !/^[0-9a-f]{64}$/.test(h.hash)
  ) {
    throw new LogCorruptError('malformed', 0, `head file ${join(dir, HEAD_FILE)} is not valid`);
  }
  return { position: h.position, hash: h.hash };
}

/**
 * Replace the head file atomically and durably (temp file + fsync + rename).
 *
 * @example
 * await writeHead(dir, { position: 42, hash });
 */
export async function writeHead(dir: string, head: LogHead): Promise<void> {
  const temp = join(dir, HEAD_TEMP);
  const fh = await open(temp, 'w', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify({ v: 1, position: head.position, hash: head.hash })}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(temp, join(dir, HEAD_FILE));
}
