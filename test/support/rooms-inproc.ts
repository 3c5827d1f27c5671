/**
 * Rooms runtimes in one process, wired by a fake `RoomSessions` that hands each request or push
 * (as JSON, like the wire) to the other peer's `handleRequest` / `handlePush`. Every peer has its
 * own identity, memory keystore, memory log and event hub, and an optional injected clock.
 *
 * @example
 * const net = createRoomsNet();
 * const a = await net.add('alice');
 * const b = await net.add('bob');
 * const room = await a.rooms.create({ name: 'r', policy: 'invite' });
 * await b.rooms.join(room.roomId, { invite: (await a.rooms.invite(room.roomId)).code });
 */
import { createActor } from 'xstate';
import { createEventHub, type EventHub, type HubEvent } from '../../src/actors/event-hub.js';
import type { SpawnActor } from '../../src/actors/handshake/types.js';
import { createRooms, type Rooms } from '../../src/actors/rooms/rooms.js';
import type { RoomSessions } from '../../src/actors/rooms/rooms-core.js';
import { generateIdentity, type Identity } from '../../src/crypto/index.js';
import { createMessageCipher, signMessage, type MessageHeader } from '../../src/crypto/room.js';
import { AppError } from '../../src/errors.js';
import type { Keystore } from '../../src/keystore/keystore.js';
import { createMemoryKeystore } from '../../src/keystore/memory-keystore.js';
import type { Envelope } from '../../src/protocol/room.codec.js';
import type { InnerResponse } from '../../src/protocol/sealed.codec.js';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';
import type { EventStore } from '../../src/store/event-store.js';

export interface InprocPeer {
  readonly name: string;
  readonly id: string;
  readonly identity: Identity;
  readonly keystore: Keystore;
  readonly store: EventStore;
  readonly hub: EventHub;
  /** Every event this peer published on its local feed. */
  readonly feed: HubEvent[];
  readonly rooms: Rooms;
  /** Whether the "push link" to other peers is up (down: members poll). */
  linkUp: boolean;
  /** Send a raw sealed-request body to `to` as this peer (what a modified client could send). */
  request(to: InnerPeer, path: string, body: unknown): Promise<InnerResponse>;
}
type InnerPeer = Pick<InprocPeer, 'id'>;

const spawnActor: SpawnActor = (machine, input) => createActor(machine, { input }).start() as never;
const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export interface RoomsNet {
  add(
    name: string,
    o?: {
      now?: () => Date;
      linkUp?: boolean;
      strict?: { verified: Set<string> };
      /** Fan out as host-signed room frames (from this many messages per batch). */
      framesFrom?: number;
      /** Messages kept in memory per room. */
      historyLimit?: number;
    },
  ): Promise<InprocPeer>;
  readonly peers: Map<string, InprocPeer>;
  close(): void;
}

export function createRoomsNet(): RoomsNet {
  const peers = new Map<string, InprocPeer>();

  function target(id: string): InprocPeer {
    const p = peers.get(id);
    if (!p) throw new AppError('ERR_PEER_UNREACHABLE', `no in-process peer ${id.slice(0, 8)}`);
    return p;
  }

  async function deliver(from: string, to: string, path: string, body: unknown) {
    const r = target(to).rooms.handleRequest(from, wire({ method: 'POST' as const, path, body }));
    if (!r) return { status: 404, body: { code: 'ERR_NOT_FOUND', detail: 'no such path' } };
    return wire(await r);
  }

  return {
    peers,
    async add(name, o = {}) {
      const identity = await generateIdentity('ed25519');
      const keystore = createMemoryKeystore();
      const store = createMemoryEventStore();
      const hub = createEventHub({ capacity: 10_000 });
      const feed: HubEvent[] = [];
      hub.events$().subscribe((e) => feed.push(e));
      const id = identity.fingerprint;
      let self: InprocPeer | undefined;
      const sessions: RoomSessions = {
        request: (peerId, inner) => deliver(id, peerId, inner.path, inner.body),
        async push(peerId, inner) {
          await Promise.resolve();
          const to = target(peerId);
          const frame = wire(inner);
          setImmediate(() => {
            if (peers.get(peerId) === to) to.rooms.handlePush(id, frame);
          });
          return self?.linkUp === true ? 'link' : 'request';
        },
        isLinkUp: (peerId) => self?.linkUp === true && peers.has(peerId),
        ...(o.framesFrom !== undefined
          ? {
              sendFrame(peerId: string, frame: Buffer): boolean {
                const to = peers.get(peerId);
                if (!to || self?.linkUp !== true) return false;
                const copy = Buffer.from(frame);
                setImmediate(() => to.rooms.handleFrame(id, copy));
                return true;
              },
            }
          : {}),
      };
      const rooms = createRooms({
        identity,
        name,
        keystore,
        store,
        spawnActor,
        hub,
        sessions,
        selfUrls: () => ['http://127.0.0.1:9'],
        directory: () =>
          [...peers.values()]
            .filter((p) => p.id !== id)
            .map((p) => ({
              peerId: p.id,
              name: p.name,
              urls: ['http://127.0.0.1:9'],
              rooms: p.rooms.advertised(),
            })),
        trustMode: o.strict ? 'strict' : 'tofu',
        pinState: (peerId) => (o.strict?.verified.has(peerId) ? 'verified' : 'unverified'),
        pollMs: 50,
        ...(o.framesFrom !== undefined ? { signedFrameMin: o.framesFrom } : {}),
        ...(o.now ? { now: o.now } : {}),
        ...(o.historyLimit !== undefined ? { historyLimit: o.historyLimit } : {}),
      });
      self = {
        name,
        id,
        identity,
        keystore,
        store,
        hub,
        feed,
        rooms,
        linkUp: o.linkUp ?? true,
        request: (to, path, body) => deliver(id, to.id, path, body),
      };
      peers.set(id, self);
      return self;
    },
    close() {
      for (const p of peers.values()) {
        p.rooms.close();
        p.hub.close();
      }
      peers.clear();
    },
  };
}

/** Seal and sign a message as `signer` would, with any header (a forger's tool). */
export function sealEnvelope(
  signer: Identity,
  epochKey: Buffer,
  header: MessageHeader,
  text: string,
): Envelope {
  const cipher = createMessageCipher(
    epochKey,
    header.roomId,
    header.epoch,
    header.sender,
    header.suite,
  );
  const ct = cipher.seal(header, Buffer.from(JSON.stringify({ text }), 'utf8'));
  cipher.destroy();
  const sig = signMessage(signer.privateKey, header, ct);
  return { ...header, ct: ct.toString('base64url'), sig: sig.toString('base64url') };
}

/** The epoch key a peer holds for a room (from its keystore). */
export async function epochKeyOf(p: InprocPeer, roomId: string, epoch: number): Promise<Buffer> {
  const k = await p.keystore.getSecret(`room.${roomId}.e.${epoch}`);
  if (!k) throw new Error(`${p.name} has no key for epoch ${epoch}`);
  return k;
}

/** Flip one bit in the middle of a base64url field. */
export function flipBase64url(s: string): string {
  const b = Buffer.from(s, 'base64url');
  b[Math.floor(b.length / 2)]! ^= 0x01;
  return b.toString('base64url');
}

/** The error code an async call fails with (or 'resolved'). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof AppError ? e.code : `not an AppError: ${String(e)}`;
  }
}
