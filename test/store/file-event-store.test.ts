import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError, LogCorruptError } from '../../src/errors.js';
import { createFileEventStore, type FileEventStore } from '../../src/store/file-event-store.js';
import { anEvent, describeEventStoreContract } from './event-store.contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'conclave-file-store-'));
}

describeEventStoreContract('file', async () => {
  const root = await tempDir();
  const path = join(root, 'log');
  const store = await createFileEventStore(path);
  return {
    store,
    reopen: () => createFileEventStore(path),
    async cleanup() {
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

describe('file event store', () => {
  let root: string;
  let path: string;
  const logFile = (): string => join(path, 'events.jsonl');
  const headFile = (): string => join(path, 'head.json');
  beforeEach(async () => {
    root = await tempDir();
    path = join(root, 'log');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Three records: positions 1–2, 3–5 and 6 (each append awaited, so each is its own batch). */
  async function threeRecords(): Promise<void> {
    const store = await createFileEventStore(path);
    await store.append('room:a', [
      anEvent('A', { tag: 'first-1' }),
      anEvent('A', { tag: 'first-2' }),
    ]);
    await store.append(
      'room:b',
      [1, 2, 3].map((i) => anEvent('B', { tag: `second-${i}` })),
    );
    await store.append('room:a', [anEvent('A', { tag: 'third-1' })]);
    expect(store.batchesWritten).toBe(3);
    await store.close();
  }
  async function lines(): Promise<string[]> {
    return (await readFile(logFile(), 'utf8')).split('\n').filter((l) => l !== '');
  }
  async function writeLines(ls: readonly string[], trailingNewline = true): Promise<void> {
    await writeFile(logFile(), ls.join('\n') + (trailingNewline ? '\n' : ''));
  }
  async function openError(): Promise<LogCorruptError> {
    const err = await createFileEventStore(path).then(
      async (s) => {
        await s.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LogCorruptError);
    return err as LogCorruptError;
  }

  describe('verification at open', () => {
    it('detects a tampered record (a byte flipped inside an event)', async () => {
      await threeRecords();
      const text = await readFile(logFile(), 'utf8');
      await writeFile(logFile(), text.replace('second-2', 'secund-2'));
      expect(await openError()).toMatchObject({
        reason: 'tampered',
        position: 3,
        code: 'ERR_LOG_CORRUPT',
      });
    });

    it('detects a file cut in the middle of a record the head vouches for', async () => {
      await threeRecords();
      const ls = await lines();
      await writeLines([ls[0]!, ls[1]!.slice(0, 40)], false);
      expect(await openError()).toMatchObject({ reason: 'truncated', position: 3 });
    });

    it('detects a dropped last record while the head file says more', async () => {
      await threeRecords();
      await writeLines((await lines()).slice(0, 2));
      expect(await openError()).toMatchObject({ reason: 'truncated', position: 6 });
    });

    it('detects swapped records', async () => {
      await threeRecords();
      const [a, b, c] = await lines();
      await writeLines([a!, c!, b!]);
      expect(await openError()).toMatchObject({ reason: 'reordered', position: 3 });
    });

    it('detects a record missing from the middle', async () => {
      await threeRecords();
      const [a, , c] = await lines();
      await writeLines([a!, c!]);
      expect(await openError()).toMatchObject({ reason: 'truncated', position: 3 });
    });

    it('detects a malformed line', async () => {
      await threeRecords();
      const [a, , c] = await lines();
      await writeLines([a!, '{"not":"a record"}', c!]);
      expect(await openError()).toMatchObject({ reason: 'malformed', position: 3 });
    });

    it('detects an empty line', async () => {
      await threeRecords();
      const [a, b, c] = await lines();
      await writeLines([a!, '', b!, c!]);
      expect(await openError()).toMatchObject({ reason: 'malformed', position: 3 });
    });

    it('detects a head file that does not match the record at its position', async () => {
      await threeRecords();
      const head = JSON.parse(await readFile(headFile(), 'utf8')) as { hash: string };
      await writeFile(headFile(), JSON.stringify({ ...head, hash: 'f'.repeat(64) }));
      expect(await openError()).toMatchObject({ reason: 'tampered', position: 6 });
    });

    it('refuses a log whose head file is missing', async () => {
      await threeRecords();
      await rm(headFile());
      expect(await openError()).toMatchObject({ reason: 'malformed', position: 0 });
    });
  });

  describe('crash recovery', () => {
    /** Three records under the head, then a fourth whose head write was lost in a crash. */
    async function recordBeyondLaggingHead(): Promise<void> {
      await threeRecords();
      const store = await createFileEventStore(path);
      const head = await readFile(headFile());
      await store.append('room:c', [anEvent('C')]);
      await store.close();
      await writeFile(headFile(), head);
    }

    /** The last record's bytes as zeros, its length and newline kept (blocks never written). */
    async function zeroLastLine(): Promise<void> {
      const bytes = await readFile(logFile());
      const lastStart = bytes.subarray(0, -1).lastIndexOf(0x0a) + 1;
      bytes.fill(0, lastStart, bytes.length - 1);
      await writeFile(logFile(), bytes);
    }

    it('drops a torn final record beyond the head as an unacknowledged write, and says so', async () => {
      await threeRecords();
      const before = await readFile(logFile());
      await writeFile(
        logFile(),
        Buffer.concat([before, Buffer.from('{"v":1,"from":7,"to":7,"prev":"ab')]),
      );
      const warnings: string[] = [];
      const store = await createFileEventStore(path, { onWarning: (m) => warnings.push(m) });
      expect(store.recovered).toMatchObject({ droppedBytes: 33, afterPosition: 6 });
      expect(warnings).toHaveLength(1);
      expect(await store.headPosition()).toBe(6);
      await store.append('room:c', [anEvent('C')]);
      await store.close();
      const again = await createFileEventStore(path);
      expect(again.recovered).toBeUndefined();
      expect((await again.readAll()).map((e) => e.position)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      await again.close();
    });

    it('drops a complete but unreadable final line beyond the head (zero-filled by a crash)', async () => {
      await recordBeyondLaggingHead();
      // …and the last record's blocks never reached the disk either.
      await zeroLastLine();
      const again = await createFileEventStore(path, { onWarning: () => undefined });
      expect(again.recovered).toMatchObject({ afterPosition: 6 });
      expect(await again.headPosition()).toBe(6);
      await again.append('room:c', [anEvent('C2')]);
      expect((await again.readAll()).map((e) => e.position)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      await again.close();
    });

    it('still refuses an unreadable final line the head vouches for (acknowledged data lost)', async () => {
      await threeRecords();
      await zeroLastLine();
      expect(await openError()).toMatchObject({ position: 6 });
    });

    it('keeps complete, verified records beyond a head that lags (head write lost in a crash)', async () => {
      await recordBeyondLaggingHead();
      const again = await createFileEventStore(path);
      expect(await again.headPosition()).toBe(7);
      await again.close();
      expect(JSON.parse(await readFile(headFile(), 'utf8'))).toMatchObject({ position: 7 });
    });
  });

  describe('process crash', () => {
    it('keeps every acknowledged append when the writer is killed with SIGKILL mid-stream', async () => {
      const script = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
      const child = spawn(process.execPath, ['--import', 'tsx', script, path], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let acknowledged = 0;
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const lines = out.split('\n');
          out = lines.pop() ?? '';
          for (const l of lines)
            if (/^\d+$/.test(l)) acknowledged = Math.max(acknowledged, Number(l));
          if (acknowledged >= 2_000) resolve();
        });
        child.on('exit', (code) => reject(new Error(`writer exited early with ${String(code)}`)));
      });
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('exit', resolve));

      const store = await createFileEventStore(path); // takes over the dead writer's lock
      const head = await store.headPosition();
      expect(head).toBeGreaterThanOrEqual(acknowledged);
      expect((await store.readAll()).map((e) => e.position)).toEqual(
        Array.from({ length: head }, (_, i) => i + 1),
      );
      await store.close();
    });
  });

  describe('durability and layout', () => {
    it('has the event in the file and the head before the append resolves', async () => {
      const store = await createFileEventStore(path);
      await store.append('room:a', [anEvent('A', { tag: 'durable-marker' })]);
      expect(await readFile(logFile(), 'utf8')).toContain('durable-marker');
      expect(JSON.parse(await readFile(headFile(), 'utf8'))).toMatchObject({ position: 1 });
      await store.close();
    });

    it('writes concurrent appends as few records (group commit)', async () => {
      const store = await createFileEventStore(path);
      await Promise.all(
        Array.from({ length: 256 }, (_, i) => store.append(`s${i % 16}`, [anEvent('T')])),
      );
      expect(store.batchesWritten).toBeLessThanOrEqual(2);
      expect(await store.headPosition()).toBe(256);
      await store.close();
    });

    it('creates the directory 0700 and its files 0600', async () => {
      const store = await createFileEventStore(path);
      await store.append('s', [anEvent('T')]);
      await store.close();
      expect((await stat(path)).mode & 0o777).toBe(0o700);
      expect((await stat(logFile())).mode & 0o777).toBe(0o600);
      expect((await stat(headFile())).mode & 0o777).toBe(0o600);
    });

    it('describes itself by path', async () => {
      const store: FileEventStore = await createFileEventStore(path);
      expect(store.description).toBe(`file:${path}`);
      expect(store.kind).toBe('file');
      await store.close();
    });
  });

  describe('lock', () => {
    it('refuses a second opener with ERR_STORE_LOCKED until the first closes', async () => {
      const first = await createFileEventStore(path);
      const err = await createFileEventStore(path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('ERR_STORE_LOCKED');
      expect((err as AppError).message).toContain(String(process.pid));
      await first.close();
      const second = await createFileEventStore(path);
      await second.close();
    });

    it('lets exactly one of two concurrent openers in one process win', async () => {
      const results = await Promise.allSettled([
        createFileEventStore(path),
        createFileEventStore(path),
      ]);
      const opened = results.filter((r) => r.status === 'fulfilled');
      expect(opened).toHaveLength(1);
      const failed = results.find((r) => r.status === 'rejected');
      expect((failed as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_STORE_LOCKED' });
      await (opened[0] as PromiseFulfilledResult<FileEventStore>).value.close();
    });

    it('takes over a stale lock left by a dead process', async () => {
      await (await createFileEventStore(path)).close();
      const child = spawn(process.execPath, ['-e', '']);
      const pid = child.pid!;
      await new Promise((resolve) => child.on('exit', resolve));
      const lock = { pid, host: hostname(), token: 'dead', since: new Date().toISOString() };
      await writeFile(join(path, 'LOCK'), JSON.stringify(lock));
      const store = await createFileEventStore(path);
      await store.close();
    });

    it('takes over a lock with this process id that this process does not hold (restarted container)', async () => {
      await (await createFileEventStore(path)).close();
      const lock = {
        pid: process.pid,
        host: hostname(),
        token: 'previous-incarnation',
        since: new Date().toISOString(),
      };
      await writeFile(join(path, 'LOCK'), JSON.stringify(lock));
      const store = await createFileEventStore(path);
      await store.close();
    });

    it('refuses a lock held by another live process', async () => {
      await (await createFileEventStore(path)).close();
      const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
      try {
        const lock = {
          pid: child.pid,
          host: hostname(),
          token: 'live',
          since: new Date().toISOString(),
        };
        await writeFile(join(path, 'LOCK'), JSON.stringify(lock));
        const err = await createFileEventStore(path).catch((e: unknown) => e);
        expect((err as AppError).code).toBe('ERR_STORE_LOCKED');
      } finally {
        child.kill();
      }
    });
  });
});
