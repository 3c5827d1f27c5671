/**
 * Two session ends, each behind the real delivery layer (`session-delivery.ts`), with real crypto:
 * the requester reaches the responder's sealed-request route over real HTTP on loopback, and an
 * in-memory link joins them when asked. Tests decide the fate of each sealed request (lost on the
 * way there, or its answer lost on the way back) and own the sessions' clock.
 */
import { expect } from 'vitest';
import { Subject } from 'rxjs';
import { createDelivery, type Delivery, type Entry } from '../../../src/actors/session-delivery.js';
import type { Session, SessionInit } from '../../../src/actors/session/session-actor.js';
import type { NewEvent } from '../../../src/store/event-store.js';
import type { InnerPush } from '../../../src/protocol/sealed.codec.js';
import { listenHttp } from '../../../src/transport/http/http-server.js';
import { createPeerApi, type PortAnswer } from '../../../src/transport/http/peer-api.js';
import type { Link } from '../../../src/transport/ws/peer-link.js';
import { fakeClock, sessionPair, type Clock } from './support.js';

/** What happens to one sealed request: delivered, lost before the peer, or its answer lost. */
export type Fate = 'pass' | 'lose-request' | 'lose-answer';

export interface Side {
  readonly entry: Entry;
  readonly delivery: Delivery;
  /** Application pushes delivered to this side, in order. */
  readonly received: InnerPush[];
}

export interface DeliveryPair {
  readonly requester: Side;
  readonly responder: Side;
  readonly clock: Clock;
  /** The fates of the next sealed requests, in order; `pass` once empty. */
  readonly fates: Fate[];
  /** Sealed requests that reached the responder. */
  readonly reached: { count: number };
  /** Everything both sessions' recorders wrote, per stream. */
  readonly records: ReadonlyArray<{ stream: string; event: NewEvent }>;
  /** Join both sides by an in-memory link (the requester proves it, as over WebSocket). */
  connectLink(): void;
  close(): Promise<void>;
}

const LOST: PortAnswer = { ok: false, code: 'ERR_PEER_UNREACHABLE', detail: 'lost (test)' };

/** Both ends of an in-memory link: frames arrive asynchronously, in order. */
function linkPair(): [Link, Link] {
  const inboxes = [new Subject<Buffer>(), new Subject<Buffer>()] as const;
  let isOpen = true;
  let markClosed = (): void => undefined;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const end = (inbox: Subject<Buffer>, peer: Subject<Buffer>): Link => ({
    frames$: inbox.asObservable(),
    send(frame) {
      if (!isOpen) return false;
      queueMicrotask(() => peer.next(frame));
      return true;
    },
    close() {
      isOpen = false;
      markClosed();
    },
    get isOpen() {
      return isOpen;
    },
    closed,
  });
  return [end(inboxes[0], inboxes[1]), end(inboxes[1], inboxes[0])];
}

function side(session: Session, url: string | null, isCurrent: () => boolean): Side {
  const received: InnerPush[] = [];
  const entry: Entry = {
    session,
    material: {
      sid: session.sid,
      peerId: session.peerId,
      peerKind: 'ed25519',
      keyId: session.info().keyId,
      sas: '000000',
      suite: 'x25519-aes256gcm',
      role: url === null ? 'responder' : 'requester',
      establishedAt: new Date(0).toISOString(),
    },
    url,
    link: undefined,
    waiters: new Map(),
    outbox: [],
    pollTimer: undefined,
  };
  const delivery = createDelivery({
    isCurrent,
    retire: () => undefined,
    app: { push: (_peer, inner) => void received.push(inner) },
  });
  return { entry, delivery, received };
}

/** A requester and a responder over one fake handshake, the responder served on loopback. */
export async function deliveryPair(init: SessionInit = {}): Promise<DeliveryPair> {
  const clock = fakeClock();
  const { a, b, records } = sessionPair({ idleTimeoutMs: 3_600_000, ...init }, clock);
  let isOpen = true;
  const fates: Fate[] = [];
  const reached = { count: 0 };
  const responder = side(b, null, () => isOpen);
  const api = await listenHttp(
    createPeerApi({
      hello: () => ({
        v: 1,
        peerId: 'b'.repeat(64),
        name: 'b',
        identityKind: 'ed25519',
        publicKey: '',
        suites: [],
      }),
      session: {
        async request(_sid, body) {
          const fate = fates.shift() ?? 'pass';
          if (fate === 'lose-request') return LOST;
          reached.count++;
          const answer = await responder.delivery.answer(responder.entry, body);
          return fate === 'lose-answer' ? LOST : answer;
        },
      },
      onUnexpected: (e) => {
        throw e;
      },
    }),
    { host: '127.0.0.1', port: 0 },
  );
  const requester = side(a, api.url, () => isOpen);
  return {
    requester,
    responder,
    clock,
    fates,
    reached,
    records,
    connectLink() {
      const [toResponder, toRequester] = linkPair();
      responder.delivery.attachWhenProven(responder.entry, toRequester);
      requester.delivery.attachAndProve(requester.entry, toResponder);
    },
    async close() {
      isOpen = false;
      for (const s of [requester, responder]) {
        if (s.entry.pollTimer) clearInterval(s.entry.pollTimer);
        if (s.entry.confirmTimer) clearTimeout(s.entry.confirmTimer);
        s.entry.link?.close();
        s.entry.session.close('test over');
      }
      await api.close(100);
    },
  };
}

/** Wait (real time) until `check` holds. */
export async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

/**
 * With the link up, the requester re-keys and `then` (the fates after the `rekey` itself) decides
 * what happens to what follows: with one 'lose-request', its `rekey.confirm` is lost and the
 * re-key fails as unreachable, leaving the requester owing the confirmation.
 *
 * @example
 * await rekeyLosingConfirmation(p, ['lose-request']);
 */
export async function rekeyLosingConfirmation(
  p: DeliveryPair,
  then: readonly Fate[],
): Promise<void> {
  const { requester: a, responder: b } = p;
  p.connectLink();
  await until(() => b.entry.link !== undefined, 'the proven link');
  while (!a.entry.session.needsRekey()) {
    await a.delivery.sendSealed(a.entry, { method: 'POST', path: '/ping', body: {} });
  }
  p.fates.push('pass', ...then); // the `rekey` arrives; what follows meets `then`
  await expect(a.delivery.rekeyIfDue(a.entry)).rejects.toMatchObject({
    code: 'ERR_PEER_UNREACHABLE',
  });
}
