/**
 * The single-writer lease of a MongoDB log. Global positions come from an in-process counter, which
 * is only gap-free and ordered if exactly one process appends; this lease makes that so.
 *
 * The lease is one document `{_id: 'writer', owner, host, pid, acquiredAt, expiresAt}`, taken with
 * `findOneAndUpdate` (upsert) when it is free, expired or ours, and renewed every `ttl / 3`. Times
 * are the **server's** (`$$NOW`), so clock skew between peers does not matter. A lease held by a
 * dead process on this host (`process.kill(pid, 0)` → ESRCH, or our own pid but not a lease this
 * process holds) is taken over at once instead of waiting for it to expire.
 *
 * Locally the lease counts as held until `ttl - margin` after the last successful renewal was
 * *sent*; past that, appends fail with `ERR_STORE_LOCKED` rather than risk a second writer.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Collection } from 'mongodb';
import { AppError } from '../errors.js';
import { duplicateKeyIndex, unavailable } from './mongo-commit.js';

export interface LeaseDocument {
  _id: string;
  owner: string;
  host: string;
  pid: number;
  acquiredAt: Date;
  expiresAt: Date;
}

export interface WriterLease {
  /** Throws `ERR_STORE_LOCKED` unless the lease is (locally known to be) held. */
  assertHeld(): void;
  /** Stop renewing and give the lease up. Idempotent. */
  release(): Promise<void>;
}

export interface WriterLeaseInit {
  readonly ttlMs: number;
  /** Used in messages only (no credentials). */
  readonly description: string;
}

const LEASE_ID = 'writer';

/** Owners of the leases this process holds (one per open store writing a log). */
const heldOwners = new Set<string>();

function isDeadLocalProcess(doc: LeaseDocument | null): boolean {
  if (!doc || doc.host !== hostname()) return false;
  // Our pid but not our lease: a previous process with the same pid (a restarted container).
  if (doc.pid === process.pid) return !heldOwners.has(doc.owner);
  try {
    process.kill(doc.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function heldError(description: string, doc: LeaseDocument | null): AppError {
  const who = doc
    ? `process ${doc.pid} on ${doc.host} (lease until ${doc.expiresAt.toISOString()})`
    : 'another process';
  return new AppError(
    'ERR_STORE_LOCKED',
    `event log ${description} is being written by ${who}; only one peer may write a log: stop it, or give this peer its own database or collectionPrefix`,
    { details: doc ? { pid: doc.pid, host: doc.host } : {} },
  );
}

/**
 * @example
 * const lease = await acquireWriterLease(db.collection('conclave.leases'), { ttlMs: 15_000, description });
 * lease.assertHeld();
 * await lease.release();
 */
export async function acquireWriterLease(
  leases: Collection<LeaseDocument>,
  init: WriterLeaseInit,
): Promise<WriterLease> {
  const owner = randomBytes(12).toString('hex');
  const ttl = init.ttlMs;
  const margin = Math.min(2_000, ttl / 5);
  const stamp = [{ $set: { expiresAt: { $add: ['$$NOW', ttl] } } }];
  const take = [
    {
      $set: {
        owner,
        host: hostname(),
        pid: process.pid,
        acquiredAt: '$$NOW',
        expiresAt: { $add: ['$$NOW', ttl] },
      },
    },
  ];

  async function tryTake(filter: Record<string, unknown>): Promise<boolean> {
    try {
      const doc = await leases.findOneAndUpdate(filter, take, {
        upsert: true,
        returnDocument: 'after',
      });
      return doc?.owner === owner;
    } catch (err) {
      if (duplicateKeyIndex(err) !== undefined) return false; // held: the upsert hit the _id
      throw unavailable(init.description, err, 'taking the writer lease');
    }
  }

  let sentAt = performance.now();
  let isTaken = await tryTake({
    _id: LEASE_ID,
    $or: [{ owner }, { $expr: { $lt: ['$expiresAt', '$$NOW'] } }],
  });
  if (!isTaken) {
    const holder = await leases.findOne({ _id: LEASE_ID });
    if (isDeadLocalProcess(holder) && holder) {
      sentAt = performance.now();
      isTaken = await tryTake({ _id: LEASE_ID, owner: holder.owner });
    }
    if (!isTaken) throw heldError(init.description, holder);
  }

  heldOwners.add(owner);
  let validUntil = sentAt + ttl - margin;
  let lost: AppError | undefined;
  let isReleased = false;

  const timer = setInterval(
    () => {
      const sent = performance.now();
      leases
        .findOneAndUpdate({ _id: LEASE_ID, owner }, stamp, { returnDocument: 'after' })
        .then(async (doc) => {
          if (doc) {
            validUntil = sent + ttl - margin;
            return;
          }
          lost = heldError(
            init.description,
            await leases.findOne({ _id: LEASE_ID }).catch(() => null),
          );
        })
        .catch(() => undefined); // a failed renewal is retried; the lease lapses locally at validUntil
    },
    Math.max(100, Math.floor(ttl / 3)),
  );
  timer.unref();

  return {
    assertHeld() {
      if (isReleased)
        throw new AppError('ERR_STORE_CLOSED', `event log ${init.description} is closed`);
      if (lost) throw lost;
      if (performance.now() > validUntil) {
        throw new AppError(
          'ERR_STORE_LOCKED',
          `the writer lease on ${init.description} could not be renewed in time (is MongoDB reachable?); appends are refused so that no second writer can interleave`,
        );
      }
    },
    async release() {
      if (isReleased) return;
      isReleased = true;
      heldOwners.delete(owner);
      clearInterval(timer);
      await leases.deleteOne({ _id: LEASE_ID, owner }).catch(() => undefined);
    },
  };
}
