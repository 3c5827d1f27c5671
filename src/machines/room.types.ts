/**
 * Types shared by the room machine (`room.machine.ts`), its context helpers (`room.context.ts`),
 * the room runtime (`src/actors/rooms/`) and replay: policy, roles, suites, members, the context,
 * the input and the event union, plus the limits the machine enforces.
 *
 * Everything here is public: machine events and context are recorded in the event log, so they
 * hold peer ids, public keys, names, policy, token *hashes* and counters, never keys, passwords or
 * plaintext (message events carry ciphertext and signatures only).
 */

export type RoomPolicy = 'open' | 'password' | 'invite' | 'approval';
export type RoomRole = 'owner' | 'admin' | 'member';
export type RoomSuite = 'aes-256-gcm' | 'aes-256-cbc-hmac-sha256';
export type RoomStateName = 'new' | 'pending' | 'active' | 'left' | 'deleted';

export interface RoomMember {
  readonly peerId: string;
  readonly name: string;
  readonly role: RoomRole;
  readonly kind: 'ed25519' | 'rsa';
  /** SPKI, base64url: its SHA-256 is the peer id, so the host cannot swap it. */
  readonly publicKey: string;
  readonly joinedAt: string;
}

/** Where a member's view of a room begins: the room's epoch and sequence when it was admitted. */
export interface Admission {
  readonly epoch: number;
  readonly seq: number;
}

/** When the host renews the room key by itself, and how many past epochs stay readable. */
export interface RotationPolicy {
  /** Rotate after this many messages in one epoch (null: only the per-key limit). */
  readonly everyMessages: number | null;
  /** Rotate after this many minutes in one epoch (null: never by time). */
  readonly everyMinutes: number | null;
  /** Past epochs whose keys are kept (to read late and old messages); older keys are shredded. */
  readonly keepEpochs: number;
}

export interface RoomInfo {
  readonly roomId: string;
  readonly name: string;
  readonly topic: string;
  readonly policy: RoomPolicy;
  readonly capacity: number;
  readonly suite: RoomSuite;
  readonly host: string;
  readonly hostName: string;
  readonly rotation: RotationPolicy;
}

export interface RoomContext extends RoomInfo {
  readonly stream: string;
  readonly self: string;
  readonly isHost: boolean;
  /** Where the host answered (members reconnect there after a restart). */
  readonly hostUrls: readonly string[];
  readonly members: Readonly<Record<string, RoomMember>>;
  /**
   * Host: when each member was admitted (joined or approved), as the epoch and sequence then. A
   * member reads what follows its admission, never what came before it (§5.4): a fetch gets no
   * older message and no older epoch key — not the history of a room it rejoins after a kick.
   */
  readonly admitted: Readonly<Record<string, Admission>>;
  readonly banned: Readonly<Record<string, string>>;
  /**
   * Host, approval rooms: join requests waiting for the owner, by peer id (one each), `joinedAt`
   * being when the peer (last) asked. A request older than `PENDING_TTL_MS` is expired.
   */
  readonly pending: Readonly<Record<string, Omit<RoomMember, 'role'>>>;
  /** Invite token hash → expiry; a used invite is deleted. */
  readonly invites: Readonly<Record<string, { readonly expiresAt: string; readonly by: string }>>;
  readonly epoch: number;
  /** Highest sequence recorded here (host: assigned; member: received in order). */
  readonly seq: number;
  /** Host: the oldest epoch a member may still send in (a removal makes it the current one). */
  readonly minSendEpoch: number;
  /** Host: messages sequenced in the current epoch, and when it began (rotation policy). */
  readonly epochMessages: number;
  readonly epochStartedAt: string;
  readonly removedReason: string | null;
  readonly restoredState: RoomStateName | null;
}

export type RoomInput =
  | { readonly stream: string; readonly roomId: string; readonly self: string }
  | {
      readonly stream: string;
      readonly restore: RoomContext & { readonly state: RoomStateName };
    };

interface MessageFacts {
  seq: number;
  id: string;
  sender: string;
  epoch: number;
  sentAt: string;
  suite: RoomSuite;
  ct: string;
  sig: string;
  /** Leaf `i` of `n` under the sender's batch signature (protocol §5.3). */
  batch?: { i: number; n: number; path: string };
  at: string;
}

export type RoomEvent =
  | ({ type: 'room.created'; owner: RoomMember; at: string } & RoomInfo)
  | {
      type: 'room.joined';
      room: RoomInfo;
      members: RoomMember[];
      epoch: number;
      /** The host's sequence when we joined: our history starts after it. */
      seq: number;
      hostUrls: string[];
      at: string;
    }
  | { type: 'room.pending'; room: RoomInfo; hostUrls: string[]; at: string }
  | { type: 'room.left'; reason: 'left' | 'kicked' | 'banned' | 'deleted'; at: string }
  | { type: 'room.deleted'; at: string }
  | {
      type: 'member.join';
      member: RoomMember;
      via: RoomPolicy | 'owner';
      inviteHash?: string;
      at: string;
    }
  | { type: 'member.request'; member: Omit<RoomMember, 'role'>; at: string }
  | { type: 'member.approve'; peerId: string; by: string; at: string }
  /** Host: a join request nobody approved within `PENDING_TTL_MS` is dropped. */
  | { type: 'member.expire'; peerId: string; at: string }
  | { type: 'member.leave'; peerId: string; at: string }
  | { type: 'member.remove'; peerId: string; by: string; ban: boolean; at: string }
  | { type: 'member.role'; peerId: string; role: 'admin' | 'member'; by: string; at: string }
  | { type: 'members.sync'; members: RoomMember[]; at: string }
  | { type: 'invite.create'; hash: string; expiresAt: string; by: string; at: string }
  | { type: 'epoch.advance'; epoch: number; reason: string; mandatory: boolean; at: string }
  | { type: 'epoch.learn'; epoch: number; at: string }
  | ({ type: 'message.sequence' } & MessageFacts)
  | ({ type: 'message.receive' } & MessageFacts)
  /** Member: the host no longer holds messages up to `through` (its history window moved on). */
  | { type: 'messages.skip'; through: number; at: string };

/** Most open invites a room keeps (expired ones are pruned when a new one is made). */
export const MAX_INVITES = 256;
/** Most pending approval requests a room keeps (one per peer id). */
export const MAX_PENDING = 256;
/**
 * How long an approval request waits for the owner: 24 h, as long as an invite code lives. An
 * owner who looks once a day still sees every request; requests nobody approves make room for
 * new ones after it (identities are free: 256 throwaway ones must not close a room for good).
 */
export const PENDING_TTL_MS = 24 * 3_600_000;
