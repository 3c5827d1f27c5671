/**
 * The shapes of the peer-session layer: its configuration, injected services, results and the
 * `PeerSessions` surface that `createPeerSessions` returns.
 */
import type { KeyObject } from 'node:crypto';
import type { Identity } from '../crypto/index.js';
import type { InnerPush, InnerRequest, InnerResponse } from '../protocol/sealed.codec.js';
import type { HandshakeSuite } from '../protocol/handshake.codec.js';
import type { HandshakePort, SessionPort } from '../transport/http/peer-api.js';
import type { Link } from '../transport/ws/peer-link.js';
import type { RecordedOfferLike } from './handshake/replay-cache.js';
import type { EstablishedSession, SpawnActor } from './handshake/types.js';
import type { PushLosses, SessionInit } from './session/session-actor.js';
import type { AppHandlers } from './session-delivery.js';

export interface PeerSessionsInit {
  readonly identity: Identity;
  readonly rsaTransportKey?: { readonly privateKey: KeyObject; readonly publicKey: KeyObject };
  /** Suites this peer accepts as responder, in preference order. */
  readonly acceptedSuites?: readonly HandshakeSuite[];
  readonly session?: SessionInit;
  readonly freshnessMs?: number;
  /** Open a WebSocket push link after a handshake as requester (default true); off → polling. */
  readonly links?: boolean;
}

export interface PeerSessionsDeps {
  readonly spawnActor: SpawnActor;
  readonly pinState: (peerId: string) => 'none' | 'unverified' | 'verified' | 'blocked';
  readonly now?: () => Date;
  /** A session was established (either role): pin it, announce it. */
  readonly onEstablished: (s: EstablishedSession, info: { url: string | null }) => void;
  readonly onSecurityAlert: (kind: string, peerId: string | null, detail: string) => void;
  /** Addresses where a peer can be reached (discovery), for a session we must open as requester. */
  readonly locate?: (peerId: string) => readonly string[];
  /** The application's handlers for sealed requests and pushes (rooms). */
  readonly app?: AppHandlers;
}

/** Where to handshake as requester, and whom we expect to find there. */
export interface ConnectTarget {
  url: string;
  expectedPeerId: string | null;
  suites?: readonly HandshakeSuite[];
}

export interface ConnectResult {
  readonly peerId: string;
  readonly sessionId: string;
  readonly sas: string;
  readonly suite: string;
  readonly keyId: string;
  readonly link: 'up' | 'down';
}

export interface PingResult {
  readonly rttMs: number;
  readonly via: 'request' | 'push';
  readonly epoch: number;
  readonly sessionId: string;
}

/** One session with a peer, as `sessionView` shows it. */
export interface SessionView {
  readonly sessionId: string;
  readonly role: EstablishedSession['role'];
  readonly suite: string;
  readonly sas: string;
  readonly epoch: number;
  readonly state: string;
  readonly link: 'up' | 'down';
  /**
   * Push frames lost to a full poll queue (protocol §3.6): `dropped` by ours before the peer
   * polled them, `missed` by the peer's before we did (as its poll answers say).
   */
  readonly pushes: PushLosses;
}

export interface PeerSessions {
  readonly handshakePort: HandshakePort;
  readonly sessionPort: SessionPort;
  hasSession(sid: string): boolean;
  /** The responder side of a link: a peer connected to `/p2p/v1/session/:sid/link`. */
  acceptLink(sid: string, link: Link): void;
  connect(target: ConnectTarget): Promise<ConnectResult>;
  /**
   * A sealed request to a peer (re-keys first when due). Only the requester side of a session
   * sends requests, so when the peer opened the session to us (or there is none), this peer
   * handshakes to it first — at `urls`, or where it was last reached or discovered.
   */
  request(peerId: string, inner: InnerRequest, urls?: readonly string[]): Promise<InnerResponse>;
  /**
   * Push a frame to a peer over a session of either role (one whose link is up first, then ours
   * as requester): link, sealed request, or queued for its poll.
   */
  push(peerId: string, inner: InnerPush): Promise<'link' | 'request' | 'queued' | 'none'>;
  /** Whether a live session with `peerId` (either role) has its WebSocket link up. */
  isLinkUp(peerId: string): boolean;
  /** Send an application frame (not sealed here) on a link that is up; false when none is. */
  sendFrame(peerId: string, frame: Buffer): boolean;
  ping(peerId: string, via: 'request' | 'push'): Promise<PingResult>;
  /** The session a push would take first, with the peer's other live session in `others`. */
  sessionView(peerId: string): (SessionView & { readonly others: SessionView[] }) | null;
  /** Counters for metrics. */
  stats(): {
    handshakes: Array<{ role: string; result: string; count: number }>;
    sessions: number;
    linksUp: number;
    /** Push frames lost to full poll queues, over all sessions since start (see `SessionView`). */
    pushes: PushLosses;
  };
  /**
   * Retire every session with `peerId` (either role): link closed, pushes and poll stopped, the
   * peer's requests answered as for an unknown session. Returns how many were open.
   */
  closePeer(peerId: string, reason: string): number;
  /** Seed the handshake replay cache from recorded events (after a restart). */
  seedReplayCache(records: Iterable<RecordedOfferLike>): number;
  close(): void;
}
