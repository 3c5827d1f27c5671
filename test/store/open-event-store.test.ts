import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { openEventStore, parseStoreSpec } from '../../src/store/open-event-store.js';

function configError(spec: string): AppError {
  try {
    parseStoreSpec(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('ERR_INVALID_CONFIG');
    return err as AppError;
  }
  throw new Error(`${spec} was accepted`);
}

describe('store spec', () => {
  it.each([
    ['memory', { kind: 'memory' }],
    ['file:/var/lib/conclave/log', { kind: 'file', path: '/var/lib/conclave/log' }],
    ['file:relative/log', { kind: 'file', path: 'relative/log' }],
    ['file:~/.conclave/log', { kind: 'file', path: join(homedir(), '.conclave/log') }],
    ['mongodb://127.0.0.1:27017/chat', { kind: 'mongodb', uri: 'mongodb://127.0.0.1:27017/chat' }],
    [
      'mongodb+srv://u:p@cluster.example.net/chat',
      { kind: 'mongodb', uri: 'mongodb+srv://u:p@cluster.example.net/chat' },
    ],
  ])('parses %s', (spec, expected) => {
    expect(parseStoreSpec(spec)).toEqual(expected);
  });

  it.each(['', 'MEMORY', 'file:', 'postgres://db/x', 'mongodb://', 'mongo://h/db', '/var/lib/log'])(
    'rejects %j with ERR_INVALID_CONFIG listing the accepted forms',
    (spec) => {
      expect(configError(spec).message).toMatch(/memory, file:PATH or mongodb:\/\//);
    },
  );

  it('does not echo credentials of a mistyped URI', () => {
    expect(configError('mongo://alice:hunter2@db/x').message).not.toMatch(/alice|hunter2/);
  });
});

describe('openEventStore', () => {
  it('opens the memory store', async () => {
    const store = await openEventStore('memory');
    expect(store.kind).toBe('memory');
    await store.close();
  });

  it('opens a file store in the given directory', async () => {
    const root = await mkdtemp(join(tmpdir(), 'conclave-open-'));
    try {
      const store = await openEventStore(`file:${join(root, 'log')}`);
      expect(store.kind).toBe('file');
      expect(store.description).toBe(`file:${join(root, 'log')}`);
      await store.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('rejects an unknown spec before opening anything', async () => {
    await expect(openEventStore('redis://x')).rejects.toMatchObject({ code: 'ERR_INVALID_CONFIG' });
  });
});
