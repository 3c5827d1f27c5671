/**
 * What the host and member halves of rooms share: the dependencies, the room table, member public
 * keys, message verification and decryption, and the local feed.
 */
import type { KeyObject } from 'node:crypto';
import type { MessageHeader } from '../../crypto/room.js';
import { verifyBatchedMessage, type VerifiedRoots } from '../../crypto/room-batch-sign.js';
import { importPublicKey, type Identity } from '../../crypto/index.js';
import { AppError, isAppError } from '../../errors.js';
import type { Keystore } from '../../keystore/keystore.js';
import type { RoomContext, RoomInput, RoomMember } from '../../machines/room.types.js';
import { roomMachine } from '../../machines/room.machine.js';
import type { Envelope } from '../../protocol/room.codec.js';
import type { InnerPush, InnerRequest, InnerResponse } from '../../protocol/sealed.codec.js';
import type { EventStore } from '../../store/event-store.js';
import type { EventHub } from '../event-hub.js';
import type { SpawnActor } from '../handshake/types.js';
import { ctxOf, newHandle, stateOf, type RoomHandle, type StoredMessage } from './room-handle.js';
import type { RoomKeys } from './room-keys.js';
import type { RotationOptions } from './rotations.js';

/** Batch roots remembered as verified (a few per active sender). */
const VERIFIED_ROOTS = 4_096;

export interface DirectoryPeer {
  readonly peerId: string;
  readonly name: string | null;
  readonly urls: readonly string[];
  readonly rooms: ReadonlyArray<{ roomId: string; name: string; policy: string }>;
}

export interface RoomSessions {
  request(peerId: string, inner: InnerRequest, urls?: readonly string[]): Promise<InnerResponse>;
  push(peerId: string, inner: InnerPush): Promise<'link' | 'request' | 'queued' | 'none'>;
  isLinkUp(peerId: string): boolean;
  /** Send the same pre-built frame on a peer's link (room batches); absent: batches are pushed. */
  sendFrame?(peerId: string, frame: Buffer): boolean;
}

export interface RoomsDeps {
  readonly identity: Identity;
  readonly name: string;
  readonly keystore: Keystore;
  readonly store: EventStore;
  readonly spawnActor: SpawnActor;
  readonly hub: EventHub;
  readonly sessions: RoomSessions;
  /** This peer's own peer-API URLs (written into invites). */
  readonly selfUrls: () => readonly string[];
  /** LAN peers we know: addresses and advertised rooms. */
  readonly directory: () => readonly DirectoryPeer[];
  readonly trustMode: 'tofu' | 'strict';
  readonly pinState: (peerId: string) => 'none' | 'unverified' | 'verified' | 'blocked';
  readonly now?: () => Date;
  /** How often a member without a push link polls its hosts (default 2 s). */
  readonly pollMs?: number;
  /** Resolves when everything recorded so far is durable in the log (acks wait for it). */
  readonly flushLog?: () => Promise<void>;
  /** Batches of at least this many messages fan out as one host-signed frame (default 16). */
  readonly signedFrameMin?: number;
  /** Messages kept in memory per room (default 10 000); older ones are in the log only. */
  readonly historyLimit?: number;
  /** Rotation deadline and retry pacing. */
  readonly rotation?: RotationOptions;
  /** Our hosted rooms changed (beacons re-advertise). */
  readonly onAdvertise?: () => void;
}

/** A message as the local API shows it: plaintext, or the reason there is none. */
export interface MessageView {
  readonly id: string;
  readonly seq: number;
  readonly roomId: string;
  readonly sender: string;
  readonly senderName: string | null;
  readonly text: string | null;
  readonly epoch: number;
  readonly sentAt: string;
  readonly error?: { readonly code: string; readonly detail: string };
}

export interface RoomsCore {
  readonly deps: RoomsDeps;
  readonly self: string;
  readonly keys: RoomKeys;
  readonly rooms: Map<string, RoomHandle>;
  now(): Date;
  at(): string;
  spawn(roomId: string, input: RoomInput): RoomHandle;
  room(roomId: string): RoomHandle;
  /** Remember the public key of a member (checked against its peer id). */
  learnMember(m: Pick<RoomMember, 'peerId' | 'publicKey'>): boolean;
  /** A member's (or the host's) public key, once learned. */
  publicKeyOf(peerId: string): KeyObject | undefined;
  verdictOf(h: RoomHandle, m: StoredMessage): { code: string; detail: string } | null;
  viewOf(h: RoomHandle, m: StoredMessage): MessageView;
  publishMessage(h: RoomHandle, m: StoredMessage): void;
  publishRoom(h: RoomHandle, change: string, extra?: Record<string, unknown>): void;
  selfMember(role: RoomMember['role']): RoomMember;
  /** Message counters for metrics. */
  readonly counters: { sent: number; received: number; refused: number };
  /** Resolves when every recorded event so far is durable. */
  durable(): Promise<void>;
  /**
   * Room keys never go to a peer the owner blocked (in every trust mode), and under
   * `--trust strict` only to verified peers.
   */
  mayReceiveKeys(peerId: string): boolean;
  /** Throws `ERR_FORBIDDEN` when the owner blocked this peer: no admission, no room key. */
  refuseBlocked(peerId: string): void;
}

export function headerOf(env: Envelope): MessageHeader {
  return {
    roomId: env.roomId,
    epoch: env.epoch,
    sender: env.sender,
    id: env.id,
    sentAt: env.sentAt,
    suite: env.suite,
  };
}

export function createRoomsCore(deps: RoomsDeps, keys: RoomKeys): RoomsCore {
  const now = deps.now ?? (() => new Date());
  const self = deps.identity.fingerprint;
  const rooms = new Map<string, RoomHandle>();
  const publicKeys = new Map<string, KeyObject>([[self, deps.identity.publicKey]]);
  const names = new Map<string, string>([[self, deps.name]]);

  function learnMember(m: Pick<RoomMember, 'peerId' | 'publicKey'> & { name?: string }): boolean {
    if (m.name !== undefined) names.set(m.peerId, m.name);
    // Checked every time, not only the first: a known peer id with another key is refused (the
    // import is a cache hit for a key seen before).
    try {
      const pk = importPublicKey(m.publicKey);
      if (pk.fingerprint !== m.peerId) return false;
      if (!publicKeys.has(m.peerId)) publicKeys.set(m.peerId, pk.publicKey);
      return true;
    } catch {
      return false;
    }
  }

  /** Batch roots whose signature verified (by room, sender, epoch, size, root, signature). */
  const verifiedRoots = new Set<string>();

  const rootCache: VerifiedRoots = {
    has: (id) => verifiedRoots.has(id),
    add(id) {
      verifiedRoots.add(id);
      if (verifiedRoots.size > VERIFIED_ROOTS) {
        const [oldest] = verifiedRoots;
        if (oldest !== undefined) verifiedRoots.delete(oldest);
      }
    },
  };

  /** The sender's signature, per message or through its batch root (checked once per batch). */
  function signatureHolds(pk: KeyObject, env: Envelope): boolean {
    const ct = Buffer.from(env.ct, 'base64url');
    const sig = Buffer.from(env.sig, 'base64url');
    return verifyBatchedMessage(pk, headerOf(env), ct, sig, env.batch, rootCache);
  }

  function verdictOf(h: RoomHandle, m: StoredMessage): { code: string; detail: string } | null {
    if (m.verdict !== undefined) return m.verdict;
    const ctx = ctxOf(h);
    const member = ctx.members[m.env.sender];
    if (member) learnMember(member);
    const pk = publicKeys.get(m.env.sender);
    let verdict: { code: string; detail: string } | null = null;
    if (m.env.roomId !== h.roomId)
      verdict = { code: 'ERR_INVALID_MESSAGE', detail: 'message names another room' };
    else if (!pk)
      verdict = { code: 'ERR_NOT_MEMBER', detail: 'sender is not a known member of this room' };
    else if (!signatureHolds(pk, m.env))
      verdict = { code: 'ERR_BAD_SIGNATURE', detail: "the sender's signature does not verify" };
    m.verdict = verdict;
    return verdict;
  }

  function viewOf(h: RoomHandle, m: StoredMessage): MessageView {
    const base = {
      id: m.env.id,
      seq: m.seq,
      roomId: h.roomId,
      sender: m.env.sender,
      senderName: names.get(m.env.sender) ?? ctxOf(h).members[m.env.sender]?.name ?? null,
      epoch: m.env.epoch,
      sentAt: m.env.sentAt,
    };
    const bad = verdictOf(h, m);
    if (bad) return { ...base, text: null, error: bad };
    try {
      const cipher = keys.cipher(h.roomId, m.env.epoch, m.env.sender, m.env.suite);
      const plain = cipher.open(headerOf(m.env), Buffer.from(m.env.ct, 'base64url'));
      const body = JSON.parse(plain.toString('utf8')) as { text?: unknown };
      if (typeof body.text !== 'string') throw new AppError('ERR_INVALID_MESSAGE', 'no text');
      return { ...base, text: body.text };
    } catch (err) {
      const code = isAppError(err) ? err.code : 'ERR_DECRYPT_FAILED';
      const detail =
        code === 'ERR_MISSING_KEY'
          ? `this peer has no key for epoch ${m.env.epoch} (joined later, or the key was not delivered yet)`
          : code === 'ERR_DECRYPT_FAILED'
            ? 'the ciphertext does not open under the epoch key (tampered or corrupted)'
            : 'the message body is not valid';
      return { ...base, text: null, error: { code, detail } };
    }
  }

  const core: RoomsCore = {
    deps,
    self,
    keys,
    rooms,
    now,
    at: () => now().toISOString(),
    spawn(roomId, input) {
      const h = newHandle(deps.spawnActor(roomMachine, input), roomId, deps.historyLimit);
      rooms.set(roomId, h);
      for (const m of Object.values(ctxOf(h).members)) learnMember(m);
      return h;
    },
    room(roomId) {
      const h = rooms.get(roomId);
      if (!h) throw new AppError('ERR_NOT_FOUND', `no room ${roomId} on this peer`);
      return h;
    },
    learnMember,
    publicKeyOf: (peerId) => publicKeys.get(peerId),
    verdictOf,
    viewOf,
    publishMessage(h, m) {
      deps.hub.publish('message', { ...viewOf(h, m) });
    },
    publishRoom(h, change, extra = {}) {
      const ctx: RoomContext = ctxOf(h);
      deps.hub.publish('room', {
        change,
        roomId: h.roomId,
        name: ctx.name,
        state: stateOf(h),
        epoch: ctx.epoch,
        members: Object.keys(ctx.members).length,
        ...extra,
      });
    },
    counters: { sent: 0, received: 0, refused: 0 },
    durable: () => deps.flushLog?.() ?? Promise.resolve(),
    // `conclave block` promises no room keys: `blocked` is refused whatever the trust mode, not
    // only under strict (where it fails the `verified` test anyway).
    mayReceiveKeys(peerId) {
      if (peerId === self) return true;
      const pin = deps.pinState(peerId);
      return pin !== 'blocked' && (deps.trustMode !== 'strict' || pin === 'verified');
    },
    refuseBlocked(peerId) {
      if (peerId !== self && deps.pinState(peerId) === 'blocked')
        throw new AppError(
          'ERR_FORBIDDEN',
          "this host's owner blocked your peer id: it admits you to no room and sends you no room key",
        );
    },
    selfMember(role) {
      return {
        peerId: self,
        name: deps.name,
        role,
        kind: deps.identity.kind,
        publicKey: deps.identity.publicKeyBytes.toString('base64url'),
        joinedAt: now().toISOString(),
      };
    },
  };
  return core;
}
