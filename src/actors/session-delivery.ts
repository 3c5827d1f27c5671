/**
 * How one established session moves data: sealed requests over HTTP (re-keying first when due),
 * push frames over the WebSocket link, and — when the link is down — pushes by sealed `POST /push`
 * (requester) or queued for the requester's `POST /poll` (responder), and the poll queue of a
 * session that is retired. The sealed requests a peer sends us are answered in `session-answer.ts`.
 */
import { AppError, isAppError } from '../errors.js';
import {
  encodeInnerPush,
  PUSH_FRAME_VERSION,
  type InnerPush,
  type InnerRequest,
  type InnerResponse,
} from '../protocol/sealed.codec.js';
import { peerRequest } from '../transport/http/peer-client.js';
import type { Link } from '../transport/ws/peer-link.js';
import { ANSWER_LOST, createAnswerer } from './session-answer.js';
import type { Delivery, DeliveryHooks, Entry } from './session-delivery.types.js';
import {
  assertPollable,
  drain,
  enqueue,
  MAX_OUTBOX,
  readPollAnswer,
  takeUnsent,
} from './session/push-outbox.js';

export type { AppHandlers, Delivery, DeliveryHooks, Entry } from './session-delivery.types.js';

/** The first frame a requester sends on a new link: a sealed push that proves the session. */
const LINK_HELLO = 'link.hello';
/** How long a new link may stay unproven before it is closed. */
const LINK_PROOF_MS = 5_000;
/** Unproven links one session holds at once; more are refused (the session id is no secret). */
const MAX_UNPROVEN_LINKS = 2;
/** How often a requester without a link polls for pushes. */
const POLL_MS = 2_000;
/** Polls in a row while the responder says more frames wait (then the timer takes over). */
const MAX_POLL_ROUNDS = MAX_OUTBOX;
export function createDelivery(hooks: DeliveryHooks): Delivery {
  /** Frames lost to full poll queues, every session included (retired ones too). */
  const totals = { dropped: 0, missed: 0 };

  function handlePush(entry: Entry, frame: Buffer): void {
    if (frame[0] !== PUSH_FRAME_VERSION) {
      // Application frames that carry their own authentication (room batches, host-signed).
      try {
        hooks.app.frame?.(entry.material.peerId, frame);
      } catch {
        // never takes the session down
      }
      return;
    }
    let inner: InnerPush;
    try {
      inner = entry.session.openPush(frame);
    } catch {
      return; // counted by the session; a bad frame never reaches anyone
    }
    rekeyInBackground(entry);
    onPush(entry, inner);
  }

  function onPush(entry: Entry, inner: InnerPush): void {
    if (inner.type === LINK_HELLO) return; // proof of a new link, nothing to deliver
    if (inner.type === 'ping' && typeof inner.n === 'number') {
      void deliver(entry, { type: 'pong', n: inner.n }).catch(() => undefined);
    } else if (inner.type === 'pong' && typeof inner.n === 'number') {
      entry.waiters.get(inner.n)?.(inner);
    } else {
      try {
        hooks.app.push?.(entry.material.peerId, inner);
      } catch {
        // an application handler's failure never takes the session down
      }
    }
  }

  /**
   * Push to the peer: over the link when it is up; otherwise the requester sends a sealed
   * `POST /push`, and the responder queues the push for the requester's next poll (sealed when it
   * first goes out, `push-outbox.ts`). A push too large for a poll answer is refused
   * (`ERR_BODY_TOO_LARGE`) before it is queued.
   */
  async function deliver(entry: Entry, inner: InnerPush): Promise<'link' | 'request' | 'queued'> {
    if (entry.link?.isOpen && entry.link.send(entry.session.sealPush(inner))) {
      rekeyInBackground(entry);
      return 'link';
    }
    if (entry.url !== null) {
      const r = await sendSealed(entry, { method: 'POST', path: '/push', body: inner });
      if (r.status !== 202)
        throw new AppError('ERR_PEER_UNREACHABLE', `push refused (${r.status})`);
      return 'request';
    }
    assertPollable(encodeInnerPush(inner).length);
    queue(entry, inner);
    return 'queued';
  }

  function queue(entry: Entry, inner: InnerPush): void {
    const queued = enqueue(entry.outbox, entry.lastQueued ?? 0, inner);
    entry.lastQueued = queued.n;
    // The requester polls too slowly: counted, logged (rate-limited) and told in the next answer.
    countDropped(entry, queued.dropped);
  }

  function countDropped(entry: Entry, count: number): void {
    if (count <= 0) return;
    totals.dropped += count;
    entry.session.pushesDropped(count);
  }

  /**
   * A session is retired with pushes still queued for its poll. Superseded by the same peer's new
   * session in the same role (`successor`), the pushes that never went out move to the new queue,
   * to be sealed under its keys when they go out there. Those that went out in an answer not yet
   * acknowledged may have arrived, and resealed they could arrive twice: they are counted as
   * dropped, as is everything a session retired for any other reason leaves behind. Call it while
   * the session is still open, so the drops are logged in its stream.
   */
  function retireOutbox(entry: Entry, successor?: Entry): void {
    const { pushes, lost } = takeUnsent(entry.outbox);
    if (successor === undefined) countDropped(entry, lost + pushes.length);
    else {
      countDropped(entry, lost);
      for (const inner of pushes) queue(successor, inner);
    }
  }

  /** Requester side, link down: fetch queued frames now and then. */
  function schedulePoll(entry: Entry): void {
    if (entry.url === null || entry.pollTimer !== undefined) return;
    entry.pollTimer = setInterval(() => {
      if (entry.link?.isOpen || !hooks.isCurrent(entry)) {
        clearInterval(entry.pollTimer);
        entry.pollTimer = undefined;
        return;
      }
      if (entry.polling === undefined) void poll(entry).catch(() => undefined);
    }, POLL_MS);
    entry.pollTimer.unref();
  }

  /** Fetch queued frames now: after any poll under way, and again at once while more wait. */
  function poll(entry: Entry): Promise<number> {
    const run = (entry.polling ?? Promise.resolve(0)).catch(() => 0).then(() => pollRounds(entry));
    entry.polling = run;
    const settle = (): void => {
      if (entry.polling === run) entry.polling = undefined;
    };
    run.then(settle, settle);
    return run;
  }

  async function pollRounds(entry: Entry): Promise<number> {
    let delivered = 0;
    try {
      for (let round = 0; round < MAX_POLL_ROUNDS; round++) {
        const ack = entry.lastPolled ?? 0;
        const r = await sendSealed(entry, { method: 'POST', path: '/poll', body: { ack } });
        const read = r.status === 200 ? readPollAnswer(r.body, ack) : undefined;
        if (read === undefined) break;
        entry.lastPolled = read.last;
        noteMissed(entry, read.dropped);
        for (const frame of read.frames) handlePush(entry, frame);
        delivered += read.frames.length;
        if (!read.more) break;
      }
    } finally {
      entry.session.flushPushReports();
    }
    return delivered;
  }

  /** The responder's running total of frames it dropped for us: record what is new in it. */
  function noteMissed(entry: Entry, peerTotal: number | undefined): void {
    // One answer counts for at most a million frames: a peer claiming absurd totals cannot run
    // our counters past safe integers (it can only make its own session's figures wrong).
    const missed = Math.min((peerTotal ?? 0) - entry.session.info().pushes.missed, 1_000_000);
    if (missed <= 0) return;
    totals.missed += missed;
    entry.session.pushesMissed(missed);
  }

  /**
   * The responder's side of a new link: it replaces the session's link only once its first frame
   * opens under the session's keys (the requester sends a sealed `link.hello` first). A stranger
   * who learned the session id can therefore not take the link over; it is closed unproven.
   */
  function attachWhenProven(entry: Entry, link: Link): void {
    if ((entry.unproven ?? 0) >= MAX_UNPROVEN_LINKS) {
      link.close(4429, 'too many unproven links');
      return;
    }
    entry.unproven = (entry.unproven ?? 0) + 1;
    let settled = false;
    /** True the first time: the link stops counting as unproven (proof, timeout or close). */
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      entry.unproven = Math.max(0, (entry.unproven ?? 1) - 1);
      clearTimeout(timer);
      return true;
    };
    const timer = setTimeout(() => {
      if (settle()) link.close(4401, 'no proof of the session');
    }, LINK_PROOF_MS);
    timer.unref();
    void link.closed.then(settle);
    const sub = link.frames$.subscribe({
      next: (frame) => {
        if (!settle()) return;
        sub?.unsubscribe();
        let inner: InnerPush;
        try {
          if (frame[0] !== PUSH_FRAME_VERSION) throw new Error('not sealed');
          inner = entry.session.openPush(frame);
        } catch {
          link.close(4401, 'not this session');
          return;
        }
        if (!hooks.isCurrent(entry)) {
          link.close(1000, 'session gone');
          return;
        }
        attach(entry, link);
        onPush(entry, inner);
      },
    });
  }

  /** The requester's side: attach, and prove the link to the responder at once. */
  function attachAndProve(entry: Entry, link: Link): void {
    attach(entry, link);
    link.send(entry.session.sealPush({ type: LINK_HELLO }));
  }

  function attach(entry: Entry, link: Link): void {
    entry.link?.close(1000, 'replaced');
    entry.link = link;
    entry.session.setLink('up');
    // Frames queued for a poll while there was no (proven) link go out on it now, in order. Some
    // may have reached the requester in a poll answer it had not acknowledged yet: they go again
    // as the same sealed bytes, which its replay window refuses (§3.4), so none is delivered twice
    // and none is lost.
    let waiting: Buffer[] = [];
    try {
      waiting = drain(entry.outbox, (inner) => entry.session.sealPush(inner));
    } catch {
      // A session that can no longer seal is closing: what waits stays queued, and is counted as
      // dropped when the session is retired.
    }
    for (const frame of waiting) link.send(frame);
    link.frames$.subscribe({ next: (f) => handlePush(entry, f) });
    void link.closed.then(() => {
      if (entry.link === link) {
        entry.link = undefined;
        if (hooks.isCurrent(entry)) {
          entry.session.setLink('down');
          schedulePoll(entry);
        }
      }
    });
  }

  async function sendSealed(entry: Entry, inner: InnerRequest): Promise<InnerResponse> {
    if (entry.url === null) {
      throw new AppError(
        'ERR_NOT_FOUND',
        'this peer opened the session to us; it sends the requests (use the link)',
      );
    }
    const sealed = entry.session.sealRequest(inner);
    const ref = { epoch: sealed.epoch, seq: sealed.seq };
    try {
      const r = await peerRequest(
        entry.url,
        'POST',
        `/p2p/v1/session/${entry.material.sid}`,
        sealed,
        { timeoutMs: 10_000 },
      );
      if (r.status !== 200) {
        entry.session.cancelResponse(ref);
        const problem = r.body as { code?: string; reason?: unknown } | undefined;
        const code = problem?.code ?? 'ERR_PEER_UNREACHABLE';
        const isForgotten = code === 'ERR_UNKNOWN_SESSION';
        if (isForgotten) hooks.retire(entry.material.sid, 'peer forgot the session');
        if (code === 'ERR_PEER_UNREACHABLE' && problem?.reason === ANSWER_LOST) {
          // The peer acted on the request, then its session closed before it could answer: the
          // session is gone there, and sending the request again could act on it twice.
          hooks.retire(entry.material.sid, 'peer closed the session');
          throw new AppError(
            'ERR_PEER_UNREACHABLE',
            'the peer received the request, but its session closed before it answered (a new ' +
              'handshake, or expiry); not sent again: whether it took effect is unknown',
            { details: { reason: ANSWER_LOST } },
          );
        }
        throw new AppError(
          'ERR_PEER_UNREACHABLE',
          `the peer refused the sealed request (${r.status} ${code})`,
          // The request never reached the peer's application: safe to send again on a new session.
          isForgotten ? { details: { reason: 'unknown-session' } } : undefined,
        );
      }
      try {
        return entry.session.openResponse(ref, r.body);
      } catch (err) {
        if (!isAppError(err) || err.code !== 'ERR_UNKNOWN_SESSION') throw err;
        // Our session closed while the request was away (superseded by a new handshake): the peer
        // acted on it, and sending it again could act on it twice.
        throw new AppError(
          'ERR_PEER_UNREACHABLE',
          'the peer answered, but this session closed meanwhile (a new handshake) and cannot ' +
            'read the answer; not sent again: whether it took effect is unknown',
          { details: { reason: ANSWER_LOST } },
        );
      }
    } catch (err) {
      entry.session.cancelResponse(ref);
      throw err;
    }
  }

  /** Re-key now if due; concurrent callers share the one re-key under way. */
  function rekeyIfDue(entry: Entry): Promise<void> {
    if (entry.rekeying) return entry.rekeying;
    if (!entry.session.needsRekey()) return Promise.resolve();
    entry.isConfirmWanted = false;
    entry.rekeying = (async () => {
      try {
        let next = entry.session.startRekey();
        while (next !== undefined) {
          const response = await sendSealed(entry, next);
          next = entry.session.completeRekey(response);
        }
      } finally {
        entry.rekeying = undefined;
        if (entry.isConfirmWanted) armConfirmTimer(entry);
      }
    })();
    return entry.rekeying;
  }

  /**
   * Traffic that rides only the link still wears the chains out: the requester re-keys (by
   * sealed request) as soon as the session is due, without waiting for a request of its own.
   * Pushes that come while our confirmation is owed but held back (by its backoff, or because
   * one is on its way) are answered by one re-send when the wait is over, not one each.
   */
  function rekeyInBackground(entry: Entry): void {
    if (entry.url === null) return;
    if (!entry.rekeying && entry.session.needsRekey()) {
      void rekeyIfDue(entry).catch(() => undefined);
    } else if (entry.session.confirmDueIn() !== undefined) {
      entry.isConfirmWanted = true;
      armConfirmTimer(entry);
    }
  }

  /** Re-send the owed confirmation, wanted meanwhile, once its backoff allows (protocol §4.2). */
  function armConfirmTimer(entry: Entry): void {
    const wait = entry.session.confirmDueIn();
    if (entry.rekeying || entry.confirmTimer !== undefined || wait === undefined) return;
    entry.confirmTimer = setTimeout(() => {
      entry.confirmTimer = undefined;
      if (entry.isConfirmWanted && hooks.isCurrent(entry)) rekeyInBackground(entry);
    }, wait);
    entry.confirmTimer.unref();
  }

  return {
    attachWhenProven,
    attachAndProve,
    deliver,
    poll,
    schedulePoll,
    sendSealed,
    rekeyIfDue,
    answer: createAnswerer({ app: hooks.app, onPush }),
    retireOutbox,
    stats: () => ({ pushes: { ...totals } }),
  };
}
