/**
 * The shapes of `session-delivery.ts`: one registered session (`Entry`), the application's
 * handlers, the hooks the peer-session layer gives delivery, and the `Delivery` surface.
 */
import type { InnerPush, InnerRequest, InnerResponse } from '../protocol/sealed.codec.js';
import type { PortAnswer } from '../transport/http/peer-api.js';
import type { Link } from '../transport/ws/peer-link.js';
import type { EstablishedSession } from './handshake/types.js';
import type { QueuedPush } from './session/push-outbox.js';
import type { PushLosses, Session } from './session/session-actor.js';

export interface Entry {
  readonly session: Session;
  readonly material: Omit<EstablishedSession, 'chains'>;
  /** Where to reach the peer (requester side only). */
  readonly url: string | null;
  link: Link | undefined;
  readonly waiters: Map<number, (p: InnerPush) => void>;
  /**
   * Pushes waiting for the requester to poll (responder side, link down), numbered; each is sealed
   * when it first goes out and stays until a poll acknowledges it (`push-outbox.ts`).
   */
  readonly outbox: QueuedPush[];
  /** Responder: the number of the last frame queued (0 or unset: none yet). */
  lastQueued?: number;
  /** Requester: the number of the last queued frame received by polling; the next poll acks it. */
  lastPolled?: number;
  /** Requester: the poll under way; polls run one after another. */
  polling?: Promise<number> | undefined;
  pollTimer: NodeJS.Timeout | undefined;
  /** The re-key under way, if any (one at a time; callers join it). */
  rekeying?: Promise<void> | undefined;
  /**
   * Requester: traffic came while our re-key confirmation was owed but held back (its backoff,
   * or one on its way); `confirmTimer` re-sends it when the wait is over (protocol §4.2).
   */
  isConfirmWanted?: boolean;
  confirmTimer?: NodeJS.Timeout | undefined;
  /** Responder: links opened for this session that have not proven it yet. */
  unproven?: number;
}

/** What the application layer (rooms) does with a peer's requests and pushes. */
export interface AppHandlers {
  /** Answer a sealed request whose path the session layer does not own; undefined → 404. */
  request?(peerId: string, inner: InnerRequest): Promise<InnerResponse> | undefined;
  /** A push frame whose type the session layer does not own. */
  push?(peerId: string, inner: InnerPush): void;
  /** A frame on the link that is not sealed for the session (its first byte names it). */
  frame?(peerId: string, frame: Buffer): void;
}

export interface DeliveryHooks {
  /** Whether this entry is still the registered session (not retired). */
  isCurrent(entry: Entry): boolean;
  retire(sid: string, reason: string): void;
  readonly app: AppHandlers;
}

export interface Delivery {
  /** Responder: a link the requester opened, attached once its first frame proves the session. */
  attachWhenProven(entry: Entry, link: Link): void;
  /** Requester: attach the link it opened and send the proof. */
  attachAndProve(entry: Entry, link: Link): void;
  deliver(entry: Entry, inner: InnerPush): Promise<'link' | 'request' | 'queued'>;
  poll(entry: Entry): Promise<number>;
  schedulePoll(entry: Entry): void;
  sendSealed(entry: Entry, inner: InnerRequest): Promise<InnerResponse>;
  rekeyIfDue(entry: Entry): Promise<void>;
  /**
   * Open a sealed request from the peer, act on it, and seal the answer. If the session closes
   * after the request was acted on, the answer is `ERR_PEER_UNREACHABLE` with reason
   * `answer-lost`, never `ERR_UNKNOWN_SESSION` (which invites the requester to send it again).
   */
  answer(entry: Entry, body: unknown): Promise<PortAnswer>;
  /**
   * A session is being retired (call it before the session closes): its queued pushes that never
   * went out move to `successor`, the same peer's new session in the same role, if any; the rest
   * are counted as dropped.
   */
  retireOutbox(entry: Entry, successor?: Entry): void;
  /** Push frames lost to full poll queues, over every session this delivery served. */
  stats(): { readonly pushes: PushLosses };
}
