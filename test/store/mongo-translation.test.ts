/**
 * Translation tests for the MongoDB adapter: they run without a server and check only our side of
 * the boundary (document shape, index specs, error mapping, credentials never shown, the writer's
 * handling of a partially failed batch). They say nothing about MongoDB's own semantics; those are
 * covered by the contract suite in `mongo-event-store.test.ts` when `MONGODB_URI` is set.
 */
import { BSON, MongoParseError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { AppError, LogCorruptError, VersionConflictError } from '../../src/errors.js';
import { freezeEvents } from '../../src/store/event-data.js';
import {
  COMMIT_INDEXES,
  assertFits,
  databaseFromUri,
  describeUri,
  duplicateKeyIndex,
  firstWriteError,
  fromCommitDocument,
  toCommitDocument,
  unavailable,
  type CommitDocument,
} from '../../src/store/mongo-commit.js';
import { createMongoEventStore } from '../../src/store/mongo-event-store.js';
import { createMongoWriter, type MongoWriterDeps } from '../../src/store/mongo-writer.js';
import { anEvent } from './event-store.contract.js';

const at = new Date('2026-01-01T00:00:00Z');

describe('mongo adapter translation (no server)', () => {
  it('declares the unique indexes that carry concurrency and order', () => {
    expect(COMMIT_INDEXES.map((i) => [i.key, i.unique])).toEqual([
      [{ stream: 1, fromVersion: 1 }, true],
      [{ stream: 1, toVersion: 1 }, true],
      [{ fromPosition: 1 }, true],
      [{ toPosition: 1 }, true],
    ]);
  });

  it('builds one commit document per append and reads it back through real BSON', () => {
    const frozen = freezeEvents('room:r', [
      anEvent('A', { $actor: 'x', n: 2 ** 40 }),
      anEvent('B', { list: [1, 'two'] }),
    ]);
    const doc = toCommitDocument('room:r', 4, 10, frozen, at);
    expect(doc).toEqual({
      stream: 'room:r',
      fromVersion: 4,
      toVersion: 5,
      fromPosition: 10,
      toPosition: 11,
      committedAt: at,
      events: [
        {
          type: 'A',
          data: { $actor: 'x', n: 2 ** 40 },
          meta: { recordedAt: '2026-01-01T00:00:00.000Z' },
        },
        { type: 'B', data: { list: [1, 'two'] }, meta: { recordedAt: '2026-01-01T00:00:00.000Z' } },
      ],
    });
    const back = fromCommitDocument(BSON.deserialize(BSON.serialize(doc)));
    expect(back.map((e) => [e.stream, e.version, e.position, e.type, e.data])).toEqual([
      ['room:r', 4, 10, 'A', { $actor: 'x', n: 2 ** 40 }],
      ['room:r', 5, 11, 'B', { list: [1, 'two'] }],
    ]);
    expect(Object.isFrozen(back[0]?.data)).toBe(true);
  });

  it('reports a commit document that does not add up as malformed', () => {
    const doc = {
      stream: 's',
      fromVersion: 1,
      toVersion: 3,
      fromPosition: 7,
      toPosition: 9,
      events: [{ type: 'T', data: {}, meta: {} }],
    };
    expect(() => fromCommitDocument(doc)).toThrow(LogCorruptError);
    expect(() =>
      fromCommitDocument({
        ...doc,
        toVersion: 1,
        toPosition: 7,
        events: [{ type: 'T', data: new Date(), meta: {} }],
      }),
    ).toThrow(expect.objectContaining({ reason: 'malformed', position: 7 }));
  });

  it('refuses a commit document over the server limit with ERR_DOCUMENT_TOO_LARGE', () => {
    const frozen = freezeEvents('s', [anEvent('T', { blob: 'x'.repeat(2_000) })]);
    expect(() => assertFits(toCommitDocument('s', 1, 1, frozen, at), 1_000)).toThrow(
      expect.objectContaining({ code: 'ERR_DOCUMENT_TOO_LARGE' }),
    );
    expect(() =>
      assertFits(toCommitDocument('s', 1, 1, frozen, at), 16 * 1024 * 1024),
    ).not.toThrow();
  });

  it.each<[string, unknown, string | undefined]>([
    [
      'keyPattern on the stream index',
      { code: 11000, keyPattern: { stream: 1, fromVersion: 1 } },
      'version',
    ],
    ['keyPattern on positions', { code: 11000, keyPattern: { fromPosition: 1 } }, 'position'],
    [
      'errmsg naming the stream index',
      {
        code: 11000,
        errmsg: 'E11000 duplicate key error collection: db.c index: stream_fromVersion dup key',
      },
      'version',
    ],
    [
      'errmsg naming a position index',
      {
        code: 11000,
        errmsg: 'E11000 duplicate key error collection: db.c index: toPosition dup key',
      },
      'position',
    ],
    ['another server error', { code: 121, errmsg: 'Document failed validation' }, undefined],
  ])('classifies a duplicate key from %s', (_label, err, expected) => {
    expect(duplicateKeyIndex(err)).toBe(expected);
  });

  it('finds the failing document of an ordered insertMany', () => {
    const bulk = {
      code: 11000,
      writeErrors: [{ index: 2, code: 11000, errmsg: 'E11000 … index: stream_fromVersion …' }],
    };
    expect(firstWriteError(bulk)).toEqual({
      index: 2,
      error: { code: 11000, errmsg: 'E11000 … index: stream_fromVersion …' },
    });
    expect(firstWriteError(new Error('socket closed'))).toBeUndefined();
  });

  it('describes a URI without credentials or options', () => {
    expect(describeUri('mongodb://app:s3cret@db.lan:27017/chat?tls=true&authSource=admin')).toBe(
      'mongodb://db.lan:27017/chat',
    );
    expect(describeUri('mongodb+srv://u:p@cluster.example.net/?retryWrites=true', 'logs')).toBe(
      'mongodb+srv://cluster.example.net/logs',
    );
    expect(databaseFromUri('mongodb://h1,h2:27018/my%20db?x=1')).toBe('my db');
    expect(databaseFromUri('mongodb://h1/')).toBeUndefined();
  });

  it('maps driver errors to store errors without leaking the URI', () => {
    const parse = unavailable(
      'mongodb://h/db',
      new MongoParseError('Invalid scheme'),
      'connecting',
    );
    expect(parse.code).toBe('ERR_INVALID_CONFIG');
    const down = unavailable(
      'mongodb://h/db',
      new Error('connect ECONNREFUSED mongodb://u:pw@h:1'),
      'connecting',
    );
    expect(down.code).toBe('ERR_STORE_UNAVAILABLE');
    expect(down.message).not.toContain('pw');
    expect(down.message).toMatch(/check that mongod is running/);
    expect(
      unavailable('d', Object.assign(new Error('auth failed'), { code: 18 }), 'x').message,
    ).toMatch(/password/);
  });

  it('fails to open with ERR_STORE_UNAVAILABLE and no credentials when nothing listens (real driver)', async () => {
    const err = await createMongoEventStore('mongodb://alice:hunter2@127.0.0.1:1/chat', {
      serverSelectionTimeoutMS: 300,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('ERR_STORE_UNAVAILABLE');
    expect((err as AppError).message).not.toMatch(/alice|hunter2/);
    expect((err as AppError).message).toContain('mongodb://127.0.0.1:1/chat');
  });
});

describe('mongo writer (batching logic, with a scripted insertMany)', () => {
  function writer(insertMany: MongoWriterDeps['insertMany']) {
    const committed: number[] = [];
    let resets = 0;
    const w = createMongoWriter({
      checkLease: () => undefined,
      loadHead: () => Promise.resolve(100),
      insertMany,
      committed: (es) => committed.push(...es.map((e) => e.position)),
      translate: (err, req) =>
        Promise.resolve(
          duplicateKeyIndex(err) === 'version'
            ? new VersionConflictError(req.stream, req.fromVersion - 1, 9)
            : unavailable('d', err, 'appending'),
        ),
      reset: () => resets++,
      now: () => at,
    });
    return { w, committed, resets: () => resets };
  }
  const req = (stream: string, n = 1) => ({
    stream,
    fromVersion: 1,
    events: freezeEvents(
      stream,
      Array.from({ length: n }, () => anEvent('T')),
    ),
  });

  it('hands out positions in queue order from the log head, one insertMany per batch', async () => {
    const batches: CommitDocument[][] = [];
    const { w, committed } = writer((docs) => {
      batches.push([...docs]);
      return Promise.resolve();
    });
    const results = await Promise.all([
      w.submit(req('a', 2)),
      w.submit(req('b')),
      w.submit(req('c')),
    ]);
    expect(results.map((r) => [r.firstPosition, r.lastPosition])).toEqual([
      [101, 102],
      [103, 103],
      [104, 104],
    ]);
    expect(batches).toHaveLength(1);
    expect(committed).toEqual([101, 102, 103, 104]);
  });

  it('acknowledges the inserted prefix, maps the failing commit, rejects the rest and resets', async () => {
    const { w, committed, resets } = writer(() =>
      Promise.reject(
        Object.assign(new Error('bulk'), {
          code: 11000,
          writeErrors: [{ index: 1, code: 11000, errmsg: 'index: stream_fromVersion' }],
        }),
      ),
    );
    const settled = await Promise.allSettled([
      w.submit(req('a')),
      w.submit(req('b')),
      w.submit(req('c')),
    ]);
    expect(settled[0]).toMatchObject({ status: 'fulfilled', value: { firstPosition: 101 } });
    expect(settled[1]).toMatchObject({
      status: 'rejected',
      reason: expect.any(VersionConflictError),
    });
    expect(settled[2]).toMatchObject({
      status: 'rejected',
      reason: expect.objectContaining({ code: 'ERR_STORE_UNAVAILABLE' }),
    });
    expect(committed).toEqual([101]);
    expect(resets()).toBe(1);
  });
});
