/** Temp dirs and small helpers for the file keystore tests. */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temp dir and its cleanup. The keystore goes in `<dir>/keys`, as the CLI passes it. */
export async function tempDataDir(): Promise<{
  dataDir: string;
  keysDir: string;
  cleanup: () => Promise<void>;
}> {
  const dataDir = await mkdtemp(join(tmpdir(), 'conclave-keystore-'));
  return {
    dataDir,
    keysDir: join(dataDir, 'keys'),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
}

export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'none';
  } catch (err) {
    return (err as { code?: string }).code ?? 'uncoded';
  }
}

export async function errorOf(
  promise: Promise<unknown>,
): Promise<{ code?: string; message?: string }> {
  try {
    await promise;
    return {};
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { code: e.code, message: e.message };
  }
}

/**
 * Which encodings of `needle` (raw, hex, base64, base64url) appear in any file under `dir`, read both
 * as bytes and as text.
 */
export async function scanDir(dir: string, needle: Buffer): Promise<string[]> {
  const forms: Array<[string, Buffer]> = [
    ['raw', needle],
    ['hex', Buffer.from(needle.toString('hex'))],
    ['HEX', Buffer.from(needle.toString('hex').toUpperCase())],
    ['base64', Buffer.from(needle.toString('base64').replace(/=+$/, ''))],
    ['base64url', Buffer.from(needle.toString('base64url'))],
  ];
  const hits: string[] = [];
  for (const name of await readdir(dir, { recursive: true })) {
    let content: Buffer;
    try {
      content = await readFile(join(dir, name));
    } catch {
      continue; // a directory
    }
    for (const [form, bytes] of forms) if (content.includes(bytes)) hits.push(`${name}:${form}`);
  }
  return hits;
}
