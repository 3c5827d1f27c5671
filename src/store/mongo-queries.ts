/**
 * The read queries of the MongoDB store over the commits collection: heads, stream versions,
 * event ranges and the stream list. Each index in `mongo-commit.ts` serves one of them.
 */
import type { Collection } from 'mongodb';
import type { RecordedEvent, StreamInfo } from './event-store.js';
import { fromCommitDocument, type CommitDocument } from './mongo-commit.js';

export interface MongoQueries {
  /** Last position in the log (0 when empty); served by the `toPosition` index. */
  readonly head: () => Promise<number>;
  /** Last version of a stream (0 when unknown); served by `(stream, toVersion)`. */
  readonly streamVersion: (stream: string) => Promise<number>;
  readonly streamEvents: (stream: string, after: number, limit: number) => Promise<RecordedEvent[]>;
  /** Events with `after < position ≤ upTo` of streams starting with `prefix`, in order. */
  readonly logEvents: (
    after: number,
    upTo: number,
    prefix: string,
    limit: number,
  ) => Promise<RecordedEvent[]>;
  readonly listStreams: (prefix: string) => Promise<StreamInfo[]>;
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Anchored prefix match on `stream` (uses the stream indexes). */
export function streamFilter(prefix: string): Record<string, unknown> {
  return prefix === '' ? {} : { stream: { $regex: `^${escapeRegex(prefix)}` } };
}

/**
 * @example
 * const q = createMongoQueries(db.collection<CommitDocument>('conclave.commits'));
 * const events = await q.logEvents(0, await q.head(), 'room:', 100);
 */
export function createMongoQueries(commits: Collection<CommitDocument>): MongoQueries {
  async function events(
    filter: Record<string, unknown>,
    sort: Record<string, 1>,
    keep: (e: RecordedEvent) => boolean,
    limit: number,
  ): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    if (limit === 0) return out;
    // Every matching commit holds at least one wanted event, so `limit` commits are enough.
    const cursor = commits.find(filter, { sort, ...(limit < 1e9 ? { limit } : {}) });
    for await (const doc of cursor) {
      for (const e of fromCommitDocument(doc)) {
        if (keep(e)) out.push(e);
        if (out.length >= limit) {
          await cursor.close();
          return out;
        }
      }
    }
    return out;
  }

  return {
    async head() {
      const last = await commits.findOne(
        {},
        { sort: { toPosition: -1 }, projection: { toPosition: 1 } },
      );
      return last?.toPosition ?? 0;
    },
    async streamVersion(stream) {
      const last = await commits.findOne(
        { stream },
        { sort: { toVersion: -1 }, projection: { toVersion: 1 } },
      );
      return last?.toVersion ?? 0;
    },
    streamEvents: (stream, after, limit) =>
      events(
        { stream, toVersion: { $gt: after } },
        { fromVersion: 1 },
        (e) => e.version > after,
        limit,
      ),
    logEvents: (after, upTo, prefix, limit) =>
      events(
        { toPosition: { $gt: after }, fromPosition: { $lte: upTo }, ...streamFilter(prefix) },
        { fromPosition: 1 },
        (e) => e.position > after && e.position <= upTo,
        limit,
      ),
    async listStreams(prefix) {
      const rows = await commits
        .aggregate<{ _id: string; version: number; lastPosition: number }>([
          { $match: streamFilter(prefix) },
          {
            $group: {
              _id: '$stream',
              version: { $max: '$toVersion' },
              lastPosition: { $max: '$toPosition' },
            },
          },
          { $sort: { _id: 1 } },
        ])
        .toArray();
      return rows.map((r) => ({ stream: r._id, version: r.version, lastPosition: r.lastPosition }));
    },
  };
}
