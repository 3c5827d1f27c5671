/**
 * Editing a stopped peer's file log the way an attacker with write access to the disk would:
 * either naively (the hash chain notices at open), or rewriting every record hash after the edit
 * and the head file too (the chain is unkeyed SHA-256, so it verifies again — only the signatures
 * and AEAD tags of the messages are left to notice).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordedEvent } from '../../src/store/event-store.js';
import { writeHead } from '../../src/store/file-head.js';
import { LOG_FILE } from '../../src/store/file-log-open.js';
import { GENESIS_HASH, encodeRecord } from '../../src/store/file-record.js';

interface Line {
  v: number;
  from: number;
  to: number;
  prev: string;
  events: RecordedEvent[];
  hash: string;
}

/** `dir` is the log directory (the PATH of `--store file:PATH`). */
export async function readLogLines(dir: string): Promise<Line[]> {
  const text = await readFile(join(dir, LOG_FILE), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Line);
}

/** A naive edit: replace `from` by `to` in the raw log bytes, hashes untouched. */
export async function replaceInFileLog(dir: string, from: string, to: string): Promise<void> {
  const text = await readFile(join(dir, LOG_FILE), 'utf8');
  if (!text.includes(from)) throw new Error(`"${from.slice(0, 20)}…" is not in the log`);
  await writeFile(join(dir, LOG_FILE), text.replace(from, to));
}

/**
 * Apply `edit` to every event (it returns true when it changed one), then write the log back with
 * every record hash recomputed from the edit on, and a matching head file.
 */
export async function rewriteFileLog(
  dir: string,
  edit: (e: RecordedEvent & { data: Record<string, unknown> }) => boolean,
): Promise<number> {
  const lines = await readLogLines(dir);
  let edited = 0;
  for (const l of lines) for (const e of l.events) if (edit(e)) edited++;
  let prev = GENESIS_HASH;
  const out: Buffer[] = [];
  for (const l of lines) {
    const r = encodeRecord(prev, l.from, l.to, JSON.stringify(l.events));
    out.push(r.bytes);
    prev = r.hash;
  }
  await writeFile(join(dir, LOG_FILE), Buffer.concat(out));
  await writeHead(dir, { position: lines.at(-1)?.to ?? 0, hash: prev });
  return edited;
}
