/**
 * Room key rotations on the host, one actor each (`rotation:<roomId>:<epoch>`): generate and keep
 * the new epoch key, deliver it wrapped to every current member, collect acks, retry with backoff,
 * commit when all acked or at the deadline (laggards get the key when they return), then tell the
 * members to switch and shred keys that left the past-epoch window.
 *
 * One rotation at a time per room: a request while one runs joins it; a removal while one runs
 * queues exactly one more (the member just removed may have received the running one's key).
 * A removal advances the room's epoch at once, so no message under the old key is accepted after
 * it; other rotations advance it at commit, so messages keep flowing meanwhile.
 *
 * No two rotations share an epoch: a new one takes the epoch after the newest rotation stream of
 * its room, even when the room is behind it (a restart lost the room's advance, or a rotation's
 * key). An epoch passed over that way is one nobody switched to; the room steps through it, its
 * `epoch.advance` saying why.
 *
 * Deleting the room ends its rotations: a running one is cancelled (timers cleared, no key or
 * commit goes out after that), a queued one is dropped, their callers get ERR_NOT_FOUND, and the
 * committed ones are retired (the room's keys are shredded with it).
 */
import { rotationMachine, type RotationInput } from '../../machines/rotation.machine.js';
import { ctxOf, othersSorted, stateOf, type RoomHandle } from './room-handle.js';
import type { RoomsCore } from './rooms-core.js';
import { foldRotations } from './rotation-fold.js';
import { createRotationFeed } from './rotation-progress.js';
import {
  roomGone,
  rotationStream,
  viewOf,
  type RotationOptions,
  type RotationRef,
  type Rotations,
  type RotationView,
  type Running,
  type Waiter,
} from './rotations.types.js';

export type { RotationOptions, Rotations, RotationView } from './rotations.types.js';

/** The catch of a push whose failure is handled elsewhere (retries, catch-up by fetch). */
const ignore = (): undefined => undefined;

/** The reason an epoch passed over is advanced with (see `advanceTo`). */
const SKIPPED = 'skipped:key-lost';

export function createRotations(core: RoomsCore, options: RotationOptions = {}): Rotations {
  const { deps, keys } = core;
  const deadlineMs = options.deadlineMs ?? 30_000;
  const retryMs = options.retryMs ?? 500;
  const running = new Map<string, Running>();
  const queued = new Map<string, { reason: string; waiters: Waiter[] }>();
  /** Committed rotations per room, oldest first: retired when they leave the window. */
  const committed = new Map<string, RotationRef[]>();
  const memberEpochs = new Map<string, Map<string, number>>();
  /** The newest epoch with a rotation stream, per room: a new rotation never reuses it. */
  const newest = new Map<string, number>();
  /** Acks of this tick, by room and epoch (no key string built per ack: 1000 acks arrive at once). */
  const ackBatches = new Map<string, Map<number, string[]>>();
  let started = 0;
  let commits = 0;
  let laggardCount = 0;

  /** State changes and ack progress on the local feed. */
  const feed = createRotationFeed(deps.hub, () => core.now());
  const publish = feed.publish;

  function noteMemberEpoch(roomId: string, peerId: string, epoch: number): void {
    let m = memberEpochs.get(roomId);
    if (!m) memberEpochs.set(roomId, (m = new Map<string, number>()));
    if ((m.get(peerId) ?? -1) < epoch) m.set(peerId, epoch);
  }

  /**
   * Send the key to members: synchronously for those whose KEK is in memory (the common case),
   * the rest once it is loaded. Members not yet trusted (strict mode) wait as laggards.
   */
  function deliver(r: Running, peerIds: readonly string[]): void {
    const { roomId, epoch } = r.ref.getSnapshot().context;
    // Nothing to send (a key lost in a restart is not resumed; see restore): never a throw here,
    // which would reject whatever armed it — a restarted host's restore among them.
    if (!keys.hasEpoch(roomId, epoch)) return;
    const send = (peerId: string, wrapped: string): void => {
      // a key wrapped while the room was being deleted goes to no one
      if (r.ref.getSnapshot().value === 'cancelled') return;
      // unreachable now: retried, else it gets the key in a fetch
      deps.sessions.push(peerId, { type: 'room.key', roomId, epoch, wrapped }).catch(ignore);
    };
    const wrapCached = keys.cachedWrapper(roomId, epoch);
    for (const peerId of peerIds) {
      if (!core.mayReceiveKeys(peerId)) continue;
      const cached = wrapCached(peerId);
      if (cached !== undefined) send(peerId, cached);
      else
        keys.wrapFor(roomId, epoch, peerId).then(
          (wrapped) => send(peerId, wrapped),
          () => undefined,
        );
    }
  }

  /**
   * One retry timer per rotation: each round sends the key again to every member still pending
   * (one `rotation.retries` event), the delay doubling per round.
   */
  function scheduleRetry(r: Running, attempt: number): void {
    const timer = setTimeout(
      () => {
        r.timers.delete(timer);
        const snap = r.ref.getSnapshot();
        if (snap.value !== 'distributing' || snap.context.pending.length === 0) return;
        const peerIds = [...snap.context.pending];
        r.ref.send({ type: 'rotation.retries', peerIds, attempt, at: core.at() });
        deliver(r, peerIds);
        scheduleRetry(r, attempt + 1);
      },
      retryMs * 2 ** Math.min(attempt - 1, 6),
    );
    timer.unref();
    r.timers.add(timer);
  }

  function shredOld(h: RoomHandle): void {
    const list = committed.get(h.roomId) ?? [];
    const keep = ctxOf(h).rotation.keepEpochs;
    const current = ctxOf(h).epoch;
    while (list.length > 0) {
      const oldest = list[0] as RotationRef;
      // The key of epoch e - 1 (the one this rotation replaced) leaves the window at e > current - keep.
      const replaced = oldest.getSnapshot().context.epoch - 1;
      if (replaced >= current - keep) break;
      list.shift();
      oldest.send({ type: 'rotation.retire', at: core.at() });
    }
    // Every key below the window, not only those a retired rotation replaced: the rotation after
    // an epoch passed over replaced the key before it.
    for (const e of keys.epochs(h.roomId)) if (e < current - keep) void keys.shred(h.roomId, e);
  }

  function onCommitted(r: Running): void {
    const c = r.ref.getSnapshot().context;
    const h = r.h;
    for (const t of r.timers) clearTimeout(t);
    r.timers.clear();
    running.delete(c.roomId);
    commits++;
    laggardCount += c.laggards.length;
    if (!c.mandatory && stateOf(h) === 'active') advanceTo(h, c.epoch, c.reason, false);
    const commit = { type: 'room.commit', roomId: c.roomId, epoch: c.epoch } as const;
    for (const peerId of Object.keys(ctxOf(h).members)) {
      if (peerId !== core.self) deps.sessions.push(peerId, commit).catch(ignore);
    }
    const list = committed.get(c.roomId) ?? [];
    list.push(r.ref);
    committed.set(c.roomId, list);
    shredOld(h);
    publish(r.ref);
    r.resolve(viewOf(r.ref));
    const next = queued.get(c.roomId);
    if (next && stateOf(h) === 'active') {
      queued.delete(c.roomId);
      begin(h, next.reason, true).then(
        (v) => next.waiters.forEach((w) => w.resolve(v)),
        (e: Error) => next.waiters.forEach((w) => w.reject(e)),
      );
    }
  }

  function watch(r: Running): void {
    r.ref.subscribe((snap) => {
      if (snap.value === 'committed' && running.get(snap.context.roomId) === r) onCommitted(r);
    });
  }

  function arm(r: Running): void {
    const c = r.ref.getSnapshot().context;
    const left = Math.max(0, Date.parse(c.deadline ?? '') - core.now().getTime());
    const deadline = setTimeout(() => {
      r.timers.delete(deadline);
      if (r.ref.getSnapshot().value === 'distributing')
        r.ref.send({ type: 'rotation.deadline', at: core.at() });
    }, left);
    deadline.unref();
    r.timers.add(deadline);
    deliver(r, c.pending);
    scheduleRetry(r, Math.max(0, ...Object.values(c.attempts)) + 1);
  }

  function track(h: RoomHandle, ref: RotationRef): Running {
    let resolve: (v: RotationView) => void = () => undefined;
    let reject: (e: Error) => void = () => undefined;
    const done = new Promise<RotationView>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A restored rotation has no caller: its cancellation must not be an unhandled rejection.
    done.catch(ignore);
    const r: Running = { ref, h, timers: new Set(), done, resolve, reject };
    running.set(h.roomId, r);
    watch(r);
    return r;
  }

  /**
   * Start a rotation. Everything up to `rotation.start` happens now, synchronously — the key
   * exists in memory, the rotation is registered (a concurrent request joins it), and a
   * removal's epoch has advanced — and the key is delivered once it is safe in the keystore.
   */
  function begin(h: RoomHandle, reason: string, mandatory: boolean): Promise<RotationView> {
    // Never an epoch that already has a stream: members who hold that epoch's key keep it, and
    // would never take a second one.
    const epoch = Math.max(ctxOf(h).epoch, newest.get(h.roomId) ?? 0) + 1;
    newest.set(h.roomId, epoch);
    const persisted = keys.newEpoch(h.roomId, epoch);
    started++;
    const input: RotationInput = {
      stream: rotationStream(h.roomId, epoch),
      roomId: h.roomId,
      epoch,
      reason,
      mandatory,
      proposedAt: core.at(),
    };
    const ref = deps.spawnActor(rotationMachine, input);
    const r = track(h, ref);
    if (mandatory) advanceTo(h, epoch, reason, true);
    noteMemberEpoch(h.roomId, core.self, epoch);
    void persisted
      .catch(() => undefined) // the key is in memory; a failed keystore write is logged there
      .then(() => {
        // Deleted while the key was being stored: the shredding may have run before the write.
        if (ref.getSnapshot().value === 'cancelled') {
          void keys.shred(h.roomId, epoch);
          return;
        }
        if (running.get(h.roomId) !== r || ref.getSnapshot().value !== 'proposed') return;
        // Members as they are now: anyone removed meanwhile is not sent the key.
        const members = othersSorted(h, core.self);
        const deadline = new Date(core.now().getTime() + deadlineMs).toISOString();
        ref.send({ type: 'rotation.start', members, deadline, at: core.at() });
        // Nobody to wait for: committed at once, and onCommitted says so (once).
        if (ref.getSnapshot().value === 'distributing') {
          publish(ref);
          arm(r);
        } else if (running.get(h.roomId) === r) onCommitted(r);
      });
    return r.done;
  }

  /**
   * Advance the room to `epoch` (mandatory: now the only one the host accepts messages in, as for
   * a removal). The room takes one epoch at a time: one passed over (its
   * rotation lost its key in a restart, nobody switched to it) is stepped through in the same
   * tick, so the host is never in an epoch whose key it lacks, and its advance says why.
   */
  function advanceTo(h: RoomHandle, epoch: number, reason: string, mandatory: boolean): void {
    while (ctxOf(h).epoch < epoch) {
      const next = ctxOf(h).epoch + 1;
      const why = next === epoch ? reason : SKIPPED;
      h.actor.send({ type: 'epoch.advance', epoch: next, reason: why, mandatory, at: core.at() });
      if (ctxOf(h).epoch !== next) return; // refused (the room is not active)
    }
  }

  return {
    request(h, reason, mandatory) {
      if (stateOf(h) !== 'active') return Promise.reject(roomGone(h.roomId));
      const cur = running.get(h.roomId);
      if (!cur) return begin(h, reason, mandatory);
      if (!mandatory) return Promise.resolve(viewOf(cur.ref));
      const c = cur.ref.getSnapshot();
      if (c.value === 'proposed') {
        // Its key has reached nobody yet, and it starts with the members as they are then: make
        // it refuse the old epoch now, and it serves the removal.
        advanceTo(h, c.context.epoch, reason, true);
        return cur.done;
      }
      // Its key may have reached the removed member: commit it now (the rest are laggards) and
      // rotate once more; the next one starts — and advances the epoch — inside that commit.
      const q = queued.get(h.roomId) ?? { reason, waiters: [] };
      queued.set(h.roomId, q);
      const next = new Promise<RotationView>((resolve, reject) =>
        q.waiters.push({ resolve, reject }),
      );
      next.catch(ignore); // dropped with its room: no unhandled rejection if no one waits
      if (c.value === 'distributing') cur.ref.send({ type: 'rotation.deadline', at: core.at() });
      return next;
    },
    ack(from, roomId, epoch) {
      const h = core.rooms.get(roomId);
      if (!h || stateOf(h) !== 'active') return; // a deleted room's rotation is over
      // Acks of one tick reach the rotation as one event (a 1000-member room acks at once).
      let byEpoch = ackBatches.get(roomId);
      if (!byEpoch) ackBatches.set(roomId, (byEpoch = new Map<number, string[]>()));
      const batch = byEpoch.get(epoch);
      if (batch) {
        batch.push(from);
        return;
      }
      byEpoch.set(epoch, [from]);
      setImmediate(() => {
        const peerIds = byEpoch.get(epoch) ?? [];
        byEpoch.delete(epoch);
        if (byEpoch.size === 0 && ackBatches.get(roomId) === byEpoch) ackBatches.delete(roomId);
        const r = running.get(roomId);
        const ref =
          r?.ref.getSnapshot().context.epoch === epoch
            ? r.ref
            : committed.get(roomId)?.find((x) => x.getSnapshot().context.epoch === epoch);
        if (!ref) return;
        // Only now is the epoch known to exist: an ack is the member's word, and `room members`
        // shows what it says (an epoch no rotation made would stay there, epochs only increase).
        for (const p of peerIds) noteMemberEpoch(roomId, p, epoch);
        ref.send({ type: 'rotation.acks', peerIds, at: core.at() });
        if (r?.ref === ref && running.get(roomId) === r) publish(ref, true);
      });
    },
    memberRemoved(h, peerId) {
      const r = running.get(h.roomId);
      if (r && r.ref.getSnapshot().context.pending.includes(peerId))
        r.ref.send({ type: 'rotation.member-removed', peerId, at: core.at() });
      memberEpochs.get(h.roomId)?.delete(peerId);
    },
    roomDeleted(h) {
      const at = core.at();
      const r = running.get(h.roomId);
      if (r) {
        for (const t of r.timers) clearTimeout(t);
        r.timers.clear();
        running.delete(h.roomId);
        const state = r.ref.getSnapshot().value;
        if (state === 'proposed' || state === 'distributing') {
          r.ref.send({ type: 'rotation.cancel', reason: 'room-deleted', at });
          publish(r.ref);
        }
        r.reject(roomGone(h.roomId));
      }
      const q = queued.get(h.roomId);
      queued.delete(h.roomId);
      for (const w of q?.waiters ?? []) w.reject(roomGone(h.roomId));
      for (const ref of committed.get(h.roomId) ?? []) ref.send({ type: 'rotation.retire', at });
      committed.delete(h.roomId);
      newest.delete(h.roomId);
      memberEpochs.delete(h.roomId);
      ackBatches.delete(h.roomId);
    },
    running: (roomId) => {
      const r = running.get(roomId);
      return r ? viewOf(r.ref) : undefined;
    },
    memberEpoch: (roomId, peerId) => memberEpochs.get(roomId)?.get(peerId),
    noteMemberEpoch,
    async restore(store) {
      let resumed = 0;
      /** Per room, the newest rotation whose key the host no longer holds, if nothing followed it. */
      const lost = new Map<string, { reason: string; mandatory: boolean }>();
      for (const f of await foldRotations(store)) {
        const { roomId, epoch } = f.ctx;
        newest.set(roomId, Math.max(newest.get(roomId) ?? 0, epoch));
        for (const p of f.ctx.acked) noteMemberEpoch(roomId, p, epoch);
        const h = core.rooms.get(roomId);
        if (!h || !ctxOf(h).isHost || f.state === 'retired' || f.state === 'cancelled') continue;
        if (stateOf(h) !== 'active') {
          // Left running by a delete recorded before rotations ended with their room: end it now.
          if (f.state !== 'committed')
            deps
              .spawnActor(rotationMachine, {
                stream: f.stream,
                restore: { ...f.ctx, state: f.state },
              })
              .send({ type: 'rotation.cancel', reason: 'room-deleted', at: core.at() });
          continue;
        }
        // Its key was never stored (the keystore write failed; the rotation went on with the key
        // in memory) if the host lacks it, unless it committed and the room passed it (shredded).
        const isLost =
          !keys.hasEpoch(roomId, epoch) && (f.state !== 'committed' || epoch > ctxOf(h).epoch);
        if (isLost) lost.set(roomId, { reason: f.ctx.reason, mandatory: f.ctx.mandatory });
        else lost.delete(roomId);
        if (f.state === 'committed') {
          // Retired when it leaves the window, its key lost or not.
          const list = committed.get(roomId) ?? [];
          list.push(
            deps.spawnActor(rotationMachine, {
              stream: f.stream,
              restore: { ...f.ctx, state: f.state },
            }),
          );
          committed.set(roomId, list);
          // The log writer appends each stream on its own: a crash can keep the commit and lose
          // the room's advance. Members switched at the commit; the host follows them (to an
          // epoch whose key it holds: else the room rotates again below, past it).
          if (!isLost) advanceTo(h, epoch, f.ctx.reason, f.ctx.mandatory);
          continue;
        }
        // Nothing to resume without its key: it ends (`cancelled`, key-lost) and the room rotates
        // again below, past its epoch, as mandatory as it was: a removal stays a removal.
        if (isLost) {
          deps
            .spawnActor(rotationMachine, {
              stream: f.stream,
              restore: { ...f.ctx, state: f.state },
            })
            .send({ type: 'rotation.cancel', reason: 'key-lost', at: core.at() });
          continue;
        }
        const ref = deps.spawnActor(rotationMachine, {
          stream: f.stream,
          restore: { ...f.ctx, state: f.state },
        });
        const r = track(h, ref);
        resumed++;
        if (f.state === 'proposed') {
          if (f.ctx.mandatory) advanceTo(h, epoch, f.ctx.reason, true);
          const members = othersSorted(h, core.self);
          ref.send({
            type: 'rotation.start',
            members,
            deadline: new Date(core.now().getTime() + deadlineMs).toISOString(),
            at: core.at(),
          });
        }
        if (ref.getSnapshot().value === 'distributing') arm(r);
        else if (running.get(roomId) === r) onCommitted(r);
      }
      for (const h of core.rooms.values()) {
        if (!ctxOf(h).isHost || stateOf(h) !== 'active' || running.has(h.roomId)) continue;
        const why = lost.get(h.roomId);
        // A host without its room's current key (a removal's, or a commit's) can neither send in
        // it nor give it to anyone: the room leaves it at once, as a removal does.
        const isKeyless = !keys.hasEpoch(h.roomId, ctxOf(h).epoch);
        if (why) void begin(h, why.reason, why.mandatory || isKeyless);
        else if (isKeyless) void begin(h, 'key-lost', true);
      }
      return resumed;
    },
    stats: () => ({ started, committed: commits, laggards: laggardCount }),
    close() {
      for (const r of running.values()) for (const t of r.timers) clearTimeout(t);
      running.clear();
      feed.close();
    },
  };
}
