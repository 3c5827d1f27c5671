/**
 * Rooms runtimes in one process for key-rotation tests: each peer has its own identity, memory
 * keystore, memory event log and a real peer runtime (`createPeerRuntime`) whose `spawnActor`
 * records every room and rotation transition into that log. A fake `RoomSessions` hands each
 * request (as JSON, like the wire) to the other runtime's `handleRequest`, and each push to its
 * `handlePush` asynchronously (`setImmediate`). A peer can be taken offline: its pushes (both
 * ways) are dropped and its requests fail with ERR_PEER_UNREACHABLE; bringing it back runs the
 * session-up path (`onSession`) toward every other peer, as a new session would.
 *
 * @example
 * const net = createRotationNet({ deadlineMs: 200 });
 * const a = await net.add('alice');
 * const b = await net.add('bob');
 * const room = await a.rooms.create({ name: 'r', policy: 'open' });
 * await b.rooms.join(room.roomId, {});
 */
import { createPeerRuntime, type PeerRuntime } from '../../src/actors/peer-runtime.js';
import type { HubEvent } from '../../src/actors/event-hub.js';
import { createRooms, type Rooms } from '../../src/actors/rooms/rooms.js';
import { headerOf, type RoomSessions } from '../../src/actors/rooms/rooms-core.js';
import type { RotationOptions } from '../../src/actors/rooms/rotations.js';
import { generateIdentity, type Identity } from '../../src/crypto/index.js';
import { createMessageCipher } from '../../src/crypto/room.js';
import { AppError } from '../../src/errors.js';
import type { Keystore } from '../../src/keystore/keystore.js';
import { createMemoryKeystore } from '../../src/keystore/memory-keystore.js';
import type { Envelope } from '../../src/protocol/room.codec.js';
import type { InnerPush } from '../../src/protocol/sealed.codec.js';
import type { EventStore, NewEvent } from '../../src/store/event-store.js';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';

export interface NetPeer {
  readonly name: string;
  readonly id: string;
  readonly identity: Identity;
  readonly keystore: Keystore;
  readonly store: EventStore;
  readonly runtime: PeerRuntime;
  readonly rooms: Rooms;
  /** Every event this peer published on its local feed (`/api/events`). */
  readonly feed: HubEvent[];
  /** Every push addressed to this peer, delivered or dropped (it was offline). */
  readonly pushesIn: Array<{ from: string; inner: InnerPush; delivered: boolean }>;
  readonly online: boolean;
  /** Take the peer off the network, or bring it back (then it catches up with its hosts). */
  setOnline(on: boolean): void;
}

export interface RotationNet {
  /** `historyLimit`: messages the peer keeps in memory per room. */
  add(
    name: string,
    o?: {
      historyLimit?: number;
      keystore?: Keystore;
      store?: EventStore;
      restore?: boolean;
      identity?: Identity;
    },
  ): Promise<NetPeer>;
  readonly peers: Map<string, NetPeer>;
  close(): Promise<void>;
}

const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export function createRotationNet(rotation: RotationOptions = {}): RotationNet {
  const peers = new Map<string, NetPeer>();
  const online = new Map<string, boolean>();
  const reachable = (from: string, to: string): boolean =>
    peers.has(to) && online.get(from) === true && online.get(to) === true;

  return {
    peers,
    async add(name, o = {}) {
      const identity = o.identity ?? (await generateIdentity('ed25519'));
      const id = identity.fingerprint;
      const keystore = o.keystore ?? createMemoryKeystore();
      const store = o.store ?? createMemoryEventStore();
      const runtime = createPeerRuntime(
        {
          peerId: id,
          name,
          fingerprint: id,
          identityKind: 'ed25519',
          store: 'memory',
          version: 'test',
        },
        { store },
      );
      runtime.start();
      const feed: HubEvent[] = [];
      runtime.hub.events$().subscribe((e) => feed.push(e));
      const pushesIn: NetPeer['pushesIn'] = [];
      online.set(id, true);
      const sessions: RoomSessions = {
        async request(peerId, inner) {
          await new Promise((r) => setImmediate(r));
          if (!reachable(id, peerId))
            throw new AppError(
              'ERR_PEER_UNREACHABLE',
              `${name} cannot reach ${peerId.slice(0, 8)}`,
            );
          const to = peers.get(peerId) as NetPeer;
          const r = to.rooms.handleRequest(id, wire(inner));
          if (!r) return { status: 404, body: { code: 'ERR_NOT_FOUND', detail: 'no such path' } };
          return wire(await r);
        },
        push(peerId, inner) {
          const to = peers.get(peerId);
          if (!to) return Promise.resolve('none');
          const delivered = reachable(id, peerId);
          to.pushesIn.push({ from: id, inner: wire(inner), delivered });
          if (!delivered) return Promise.resolve('none');
          const frame = wire(inner);
          setImmediate(() => {
            if (reachable(id, peerId)) to.rooms.handlePush(id, frame);
          });
          return Promise.resolve('link');
        },
        isLinkUp: (peerId) => reachable(id, peerId),
      };
      const rooms = createRooms({
        identity,
        name,
        keystore,
        store,
        spawnActor: runtime.spawnActor,
        hub: runtime.hub,
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
        trustMode: 'tofu',
        pinState: () => 'unverified',
        pollMs: 50,
        rotation,
        ...(o.historyLimit !== undefined ? { historyLimit: o.historyLimit } : {}),
      });
      const peer: NetPeer = {
        name,
        id,
        identity,
        keystore,
        store,
        runtime,
        rooms,
        feed,
        pushesIn,
        get online() {
          return online.get(id) === true;
        },
        setOnline(on) {
          online.set(id, on);
          if (!on) return;
          for (const other of peers.keys()) if (other !== id) rooms.onSession(other);
        },
      };
      peers.set(id, peer);
      if (o.restore) await rooms.restore();
      return peer;
    },
    async close() {
      for (const p of peers.values()) {
        p.rooms.close();
        await p.runtime.stop('test over');
      }
      peers.clear();
    },
  };
}

/** Poll until `pred` holds; on timeout fail with `what` and, if given, what was seen. */
export async function until(
  pred: () => boolean | Promise<boolean>,
  what: string,
  ms = 15_000,
  seen: () => unknown = () => undefined,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end)
      throw new Error(
        `timed out after ${ms} ms waiting for ${what}; saw ${JSON.stringify(seen())}`,
      );
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The `rotation` events a peer published (its `/api/events` feed). */
export const rotationEvents = (p: NetPeer): Array<Record<string, unknown>> =>
  p.feed.filter((e) => e.type === 'rotation').map((e) => e.data);

/** Whether the host published a committed rotation for `epoch` of `roomId`. */
export const hasCommitted = (p: NetPeer, roomId: string, epoch: number): boolean =>
  rotationEvents(p).some(
    (d) => d['roomId'] === roomId && d['epoch'] === epoch && d['state'] === 'committed',
  );

/** Epoch numbers whose keys a peer's keystore holds for a room, ascending. */
export async function storedEpochs(p: NetPeer, roomId: string): Promise<number[]> {
  const prefix = `room.${roomId}.e.`;
  return (await p.keystore.listSecrets(prefix))
    .map((id) => Number(id.slice(prefix.length)))
    .sort((a, b) => a - b);
}

/** Everything secret a peer holds (a full dump of its keystore). */
export async function dumpSecrets(p: NetPeer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const id of await p.keystore.listSecrets()) {
    const v = await p.keystore.getSecret(id);
    if (v) out.set(id, v);
  }
  return out;
}

/** The envelopes a peer's log holds for a room (ciphertext as sequenced or received). */
export async function loggedEnvelopes(
  p: NetPeer,
  roomId: string,
): Promise<Array<{ seq: number; env: Envelope }>> {
  await p.runtime.writer.flush();
  const out: Array<{ seq: number; env: Envelope }> = [];
  for (const e of await p.store.readAll({ streamPrefix: `room:${roomId}` })) {
    if (e.stream !== `room:${roomId}`) continue;
    if (e.type !== 'message.sequence' && e.type !== 'message.receive') continue;
    const d = e.data as unknown as Envelope & { seq: number };
    out.push({
      seq: d.seq,
      env: {
        roomId,
        id: d.id,
        sender: d.sender,
        epoch: d.epoch,
        sentAt: d.sentAt,
        suite: d.suite,
        ct: d.ct,
        sig: d.sig,
      },
    });
  }
  return out;
}

/**
 * Try every candidate key as the epoch key of `env` (with its true header): the plaintext text
 * if one opens it, else null. An attacker with a dump can do no better with these keys.
 */
export function openWithAny(keys: Iterable<Buffer>, env: Envelope): string | null {
  const header = headerOf(env);
  for (const k of keys) {
    let cipher;
    try {
      cipher = createMessageCipher(k, env.roomId, env.epoch, env.sender, env.suite);
    } catch {
      continue; // not usable as a key (wrong length)
    }
    try {
      const plain = cipher.open(header, Buffer.from(env.ct, 'base64url'));
      return (JSON.parse(plain.toString('utf8')) as { text: string }).text;
    } catch {
      // does not open under this key
    } finally {
      cipher.destroy();
    }
  }
  return null;
}

/** Texts a peer reads for a room (null where it cannot decrypt), in seq order. */
export const readTexts = (p: NetPeer, roomId: string): Array<string | null> =>
  p.rooms.messages(roomId, 0, 100_000).map((m) => m.text);

/** Alice (with `alice`'s options) hosting the open room `den` that Bob and Carol joined. */
export async function openRoomOfThree(
  net: RotationNet,
  alice: Parameters<RotationNet['add']>[1] = {},
): Promise<{ a: NetPeer; b: NetPeer; c: NetPeer; roomId: string }> {
  const a = await net.add('alice', alice);
  const b = await net.add('bob');
  const c = await net.add('carol');
  const { roomId } = await a.rooms.create({ name: 'den', policy: 'open' });
  await b.rooms.join(roomId, {});
  await c.rooms.join(roomId, {});
  return { a, b, c, roomId };
}

/**
 * A copy of `a`'s log as another store (flushed first); `edit` may rewrite an event or drop it
 * (`undefined`), to make the log an older build or a crash would have left.
 */
export async function copyLog(
  a: NetPeer,
  edit: (e: NewEvent, stream: string) => NewEvent | undefined = (e) => e,
): Promise<EventStore> {
  await a.runtime.writer.flush();
  const store = createMemoryEventStore();
  const byStream = new Map<string, NewEvent[]>();
  for (const e of await a.store.readAll()) {
    const kept = edit({ type: e.type, data: e.data, meta: e.meta }, e.stream);
    if (kept === undefined) continue;
    const list = byStream.get(e.stream) ?? [];
    list.push(kept);
    byStream.set(e.stream, list);
  }
  for (const [stream, events] of byStream) await store.append(stream, events);
  return store;
}

/** Stop `a` and start it again in `net` on a copy of its log (see `copyLog`), same keystore. */
export async function restartFromLog(
  net: RotationNet,
  a: NetPeer,
  edit?: (e: NewEvent, stream: string) => NewEvent | undefined,
): Promise<NetPeer> {
  const store = await copyLog(a, edit);
  a.rooms.close();
  await a.runtime.stop('restart');
  return net.add(a.name, { identity: a.identity, keystore: a.keystore, store, restore: true });
}

/** How an async call ended: 'ok', or `CODE: message` for an AppError (else the error's text). */
export async function outcomeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof AppError ? `${err.code}: ${err.message}` : String(err);
  }
}
