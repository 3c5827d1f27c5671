/**
 * How one established session moves data: sealed requests over HTTP (re-keying first when due),
 * push frames over the WebSocket link, and — when the link is down — pushes by sealed `POST /push`
 * (requester) or queued for the requester's `POST /poll` (responder). Also answers the sealed
 * requests a peer sends us.
 */
import { AppError, isAppError } from '../errors.js';
import {
  REKEY_PATH,
  type InnerPush,
  type InnerRequest,
  type InnerResponse,
} from '../protocol/sealed.codec.js';
import type { PortAnswer } from '../transport/http/peer-api.js';
import { peerRequest } from '../transport/http/peer-client.js';
import type { Link } from '../transport/ws/peer-link.js';
import type { EstablishedSession } from './handshake/types.js';
import type { Session } from './session/session-actor.js';

export interface Entry {
  readonly session: Session;
  readonly material: Omit<EstablishedSession, 'chains'>;
  /** Where to reach the peer (requester side only). */
  readonly url: string | null;
  link: Link | undefined;
  readonly waiters: Map<number, (p: InnerPush) => void>;
  /** Sealed push frames waiting for the requester to poll (responder side, link down). */
  readonly outbox: Buffer[];
  pollTimer: NodeJS.Timeout | undefined;
}

/** Most push frames kept for a requester that polls. */
const MAX_OUTBOX = 256;
/** How often a requester without a link polls for pushes. */
const POLL_MS = 2_000;

function errorAnswer(err: unknown): PortAnswer {
  if (isAppError(err)) return { ok: false, code: err.code, detail: err.message };
  return { ok: false, code: 'ERR_INVALID_MESSAGE', detail: 'request could not be processed' };
}

export interface DeliveryHooks {
  /** Whether this entry is still the registered session (not retired). */
  isCurrent(entry: Entry): boolean;
  retire(sid: string, reason: string): void;
}

export interface Delivery {
  attach(entry: Entry, link: Link): void;
  deliver(entry: Entry, inner: InnerPush): Promise<'link' | 'request' | 'queued'>;
  poll(entry: Entry): Promise<number>;
  schedulePoll(entry: Entry): void;
  sendSealed(entry: Entry, inner: InnerRequest): Promise<InnerResponse>;
  rekeyIfDue(entry: Entry): Promise<void>;
  /** Open a sealed request from the peer, act on it, and seal the answer. */
  answer(entry: Entry, body: unknown): PortAnswer;
}

export function createDelivery(hooks: DeliveryHooks): Delivery {
  function handlePush(entry: Entry, frame: Buffer): void {
    let inner: InnerPush;
    try {
      inner = entry.session.openPush(frame);
    } catch {
      return; // counted by the session; a bad frame never reaches anyone
    }
    onPush(entry, inner);
  }

  function onPush(entry: Entry, inner: InnerPush): void {
    if (inner.type === 'ping' && typeof inner.n === 'number') {
      void deliver(entry, { type: 'pong', n: inner.n }).catch(() => undefined);
    } else if (inner.type === 'pong' && typeof inner.n === 'number') {
      entry.waiters.get(inner.n)?.(inner);
    }
  }

  /**
   * Push to the peer: over the link when it is up; otherwise the requester sends a sealed
   * `POST /push`, and the responder queues the sealed frame for the requester's next poll.
   */
  async function deliver(entry: Entry, inner: InnerPush): Promise<'link' | 'request' | 'queued'> {
    if (entry.link?.isOpen && entry.link.send(entry.session.sealPush(inner))) return 'link';
    if (entry.url !== null) {
      const r = await sendSealed(entry, { method: 'POST', path: '/push', body: inner });
      if (r.status !== 202)
        throw new AppError('ERR_PEER_UNREACHABLE', `push refused (${r.status})`);
      return 'request';
    }
    entry.outbox.push(entry.session.sealPush(inner));
    if (entry.outbox.length > MAX_OUTBOX) entry.outbox.shift();
    return 'queued';
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
      void poll(entry).catch(() => undefined);
    }, POLL_MS);
    entry.pollTimer.unref();
  }

  async function poll(entry: Entry): Promise<number> {
    const r = await sendSealed(entry, { method: 'POST', path: '/poll', body: {} });
    const frames = (r.body as { frames?: unknown } | undefined)?.frames;
    if (r.status !== 200 || !Array.isArray(frames)) return 0;
    for (const f of frames.slice(0, MAX_OUTBOX)) {
      if (typeof f === 'string') handlePush(entry, Buffer.from(f, 'base64url'));
    }
    return frames.length;
  }

  function attach(entry: Entry, link: Link): void {
    entry.link?.close(1000, 'replaced');
    entry.link = link;
    entry.session.setLink('up');
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
        const code = (r.body as { code?: string } | undefined)?.code ?? 'ERR_PEER_UNREACHABLE';
        if (code === 'ERR_UNKNOWN_SESSION')
          hooks.retire(entry.material.sid, 'peer forgot the session');
        throw new AppError(
          'ERR_PEER_UNREACHABLE',
          `the peer refused the sealed request (${r.status} ${code})`,
        );
      }
      return entry.session.openResponse(ref, r.body);
    } catch (err) {
      entry.session.cancelResponse(ref);
      throw err;
    }
  }

  async function rekeyIfDue(entry: Entry): Promise<void> {
    if (!entry.session.needsRekey()) return;
    let next = entry.session.startRekey();
    while (next !== undefined) {
      const response = await sendSealed(entry, next);
      next = entry.session.completeRekey(response);
    }
  }

  function answer(entry: Entry, body: unknown): PortAnswer {
    try {
      const opened = entry.session.openRequest(body);
      let reply: InnerResponse;
      if (opened.inner.path === REKEY_PATH) reply = entry.session.handleRekey(opened);
      else if (opened.inner.path === '/ping') reply = { status: 200, body: { pong: true } };
      else if (opened.inner.path === '/push') {
        const inner = opened.inner.body as InnerPush | undefined;
        if (inner && typeof inner === 'object' && typeof inner.type === 'string')
          onPush(entry, inner);
        reply = { status: 202, body: {} };
      } else if (opened.inner.path === '/poll') {
        const frames = entry.outbox.splice(0, MAX_OUTBOX).map((f) => f.toString('base64url'));
        reply = { status: 200, body: { frames } };
      } else reply = { status: 404, body: { code: 'ERR_NOT_FOUND' } };
      return { ok: true, body: entry.session.sealResponse(opened, reply) };
    } catch (err) {
      return errorAnswer(err);
    }
  }

  return { attach, deliver, poll, schedulePoll, sendSealed, rekeyIfDue, answer };
}
