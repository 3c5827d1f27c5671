/**
 * The secrets of rooms, in memory and in the keystore (never in the log): epoch keys, the
 * key-encryption keys the host shares with each member (the host keeps one per member; a member
 * keeps its own), and room password hashes. Message ciphers are cached per (room, epoch, sender).
 *
 * Keystore ids: `room.<roomId>.e.<epoch>`, `room.<roomId>.kek` (member), `room.<roomId>.k.<peer32>`
 * (host; the first 32 hex digits of the member's id), `room.<roomId>.pw`.
 */
import type { AeadSuite } from '../../crypto/aead-types.js';
import { createMessageCipher, type MessageCipher } from '../../crypto/room.js';
import {
  generateMemberKek,
  generateRoomKey,
  createEpochKeyWrapper,
  unwrapEpochKey,
  type EpochKeyWrapper,
} from '../../crypto/room-epoch-key.js';
import { AppError } from '../../errors.js';
import type { Keystore } from '../../keystore/keystore.js';

const CIPHER_CACHE = 4_096;
const WRAPPER_CACHE = 64;

export interface RoomKeys {
  /** Generate, keep and persist the key of a new epoch (host). */
  newEpoch(roomId: string, epoch: number): Promise<void>;
  /** Keep a key learned from the host (member). */
  putEpoch(roomId: string, epoch: number, key: Buffer): Promise<void>;
  hasEpoch(roomId: string, epoch: number): boolean;
  epochs(roomId: string): number[];
  /** The member's KEK: host side per member (created on first use), member side its own. */
  hostKek(roomId: string, memberId: string): Promise<Buffer>;
  setOwnKek(roomId: string, kek: Buffer): Promise<void>;
  /** Wrap an epoch key for a member (host). */
  wrapFor(roomId: string, epoch: number, memberId: string): Promise<string>;
  /**
   * `wrapFor` without waiting, for members whose KEK is already in memory (the hot path), for
   * many members of one epoch (a rotation): undefined for a member whose KEK is not loaded.
   */
  cachedWrapper(roomId: string, epoch: number): (memberId: string) => string | undefined;
  /** Unwrap a key the host sent us and keep it (member); false when it does not open. */
  acceptWrapped(roomId: string, epoch: number, self: string, wrapped: string): Promise<boolean>;
  cipher(roomId: string, epoch: number, sender: string, suite: AeadSuite): MessageCipher;
  setPassword(roomId: string, hash: string): Promise<void>;
  password(roomId: string): Promise<string | undefined>;
  /** Forget an epoch key everywhere (memory, cipher cache, keystore): it left the window. */
  shred(roomId: string, epoch: number): Promise<void>;
  /** Forget a member's KEK (host, after it left). */
  dropKek(roomId: string, memberId: string): Promise<void>;
  /**
   * Forget every secret of a room, in memory and in the keystore: epoch keys, KEKs, its password
   * hash (host, the room deleted).
   */
  forget(roomId: string): Promise<void>;
  /** Load every room secret from the keystore (after a restart). */
  load(roomIds: readonly string[]): Promise<void>;
  close(): void;
}

const epochId = (roomId: string, epoch: number): string => `room.${roomId}.e.${epoch}`;
const hostKekId = (roomId: string, memberId: string): string =>
  `room.${roomId}.k.${memberId.slice(0, 32)}`;
const ownKekId = (roomId: string): string => `room.${roomId}.kek`;

export function createRoomKeys(keystore: Keystore): RoomKeys {
  const epochKeys = new Map<string, Map<number, Buffer>>();
  const keks = new Map<string, Buffer>();
  /** Host side: member id → its KEK's keystore id, by room (ids only, no key material). */
  const kekIds = new Map<string, Map<string, string>>();
  const ciphers = new Map<string, MessageCipher>();
  /**
   * Rooms whose secrets were shredded (deleted here): nothing is kept for them any more, not even
   * what a join or rotation under way when the room was deleted comes back to store.
   */
  const forgotten = new Set<string>();

  function refuseForgotten(roomId: string): void {
    if (forgotten.has(roomId))
      throw new AppError('ERR_NOT_FOUND', `room ${roomId} was deleted on this peer`);
  }

  /** Write a room secret; if the room was forgotten while the write ran, delete it again. */
  async function storeSecret(roomId: string, id: string, value: Uint8Array): Promise<void> {
    await keystore.putSecret(id, value);
    if (forgotten.has(roomId)) await keystore.deleteSecret(id).catch(() => undefined);
  }

  function ring(roomId: string): Map<number, Buffer> {
    let r = epochKeys.get(roomId);
    if (!r) epochKeys.set(roomId, (r = new Map<number, Buffer>()));
    return r;
  }

  function epochKey(roomId: string, epoch: number): Buffer {
    const k = epochKeys.get(roomId)?.get(epoch);
    if (!k)
      throw new AppError('ERR_MISSING_KEY', `no key for epoch ${epoch} of this room on this peer`);
    return k;
  }

  /** One wrapper per (room, epoch) being rotated: built for the key now in the ring, never a stale one. */
  const wrappers = new Map<string, { key: Buffer; wrap: EpochKeyWrapper }>();
  function wrapperOf(roomId: string, epoch: number): EpochKeyWrapper {
    const key = epochKey(roomId, epoch);
    const id = `${roomId}|${epoch}`;
    const hit = wrappers.get(id);
    if (hit?.key === key) return hit.wrap;
    const wrap = createEpochKeyWrapper(roomId, epoch, key);
    wrappers.set(id, { key, wrap });
    if (wrappers.size > WRAPPER_CACHE) {
      const [oldest] = wrappers.keys();
      if (oldest !== undefined) wrappers.delete(oldest);
    }
    return wrap;
  }

  const keys: RoomKeys = {
    async newEpoch(roomId, epoch) {
      const key = generateRoomKey();
      await keys.putEpoch(roomId, epoch, key);
      key.fill(0);
    },
    async putEpoch(roomId, epoch, key) {
      refuseForgotten(roomId);
      ring(roomId).set(epoch, Buffer.from(key));
      await storeSecret(roomId, epochId(roomId, epoch), key);
      refuseForgotten(roomId);
    },
    hasEpoch: (roomId, epoch) => epochKeys.get(roomId)?.has(epoch) === true,
    epochs: (roomId) => [...(epochKeys.get(roomId)?.keys() ?? [])].sort((a, b) => a - b),
    async hostKek(roomId, memberId) {
      refuseForgotten(roomId);
      const id = hostKekId(roomId, memberId);
      let k = keks.get(id);
      if (!k) {
        const stored = await keystore.getSecret(id);
        refuseForgotten(roomId);
        k = keks.get(id) ?? stored ?? generateMemberKek();
        keks.set(id, k);
        await storeSecret(roomId, id, k);
        if (forgotten.has(roomId)) {
          k.fill(0);
          keks.delete(id);
          refuseForgotten(roomId);
        }
      }
      return k;
    },
    async setOwnKek(roomId, kek) {
      refuseForgotten(roomId);
      keks.set(ownKekId(roomId), kek);
      await storeSecret(roomId, ownKekId(roomId), kek);
    },
    async wrapFor(roomId, epoch, memberId) {
      const kek = await keys.hostKek(roomId, memberId);
      return wrapperOf(roomId, epoch)(kek, memberId).toString('base64url');
    },
    cachedWrapper(roomId, epoch) {
      const wrap = wrapperOf(roomId, epoch);
      let ids = kekIds.get(roomId);
      if (!ids) kekIds.set(roomId, (ids = new Map<string, string>()));
      const idsOfRoom = ids;
      return (memberId) => {
        // The member's keystore id, built once per member (a rotation looks up every member).
        let id = idsOfRoom.get(memberId);
        if (id === undefined) idsOfRoom.set(memberId, (id = hostKekId(roomId, memberId)));
        const kek = keks.get(id);
        return kek ? wrap(kek, memberId).toString('base64url') : undefined;
      };
    },
    async acceptWrapped(roomId, epoch, self, wrapped) {
      if (keys.hasEpoch(roomId, epoch)) return true;
      const kek = keks.get(ownKekId(roomId));
      if (!kek) return false;
      try {
        const key = unwrapEpochKey(kek, roomId, epoch, self, Buffer.from(wrapped, 'base64url'));
        await keys.putEpoch(roomId, epoch, key);
        key.fill(0);
        return true;
      } catch {
        return false;
      }
    },
    cipher(roomId, epoch, sender, suite) {
      const id = `${roomId}|${epoch}|${sender}|${suite}`;
      const hit = ciphers.get(id);
      if (hit) return hit;
      const c = createMessageCipher(epochKey(roomId, epoch), roomId, epoch, sender, suite);
      ciphers.set(id, c);
      if (ciphers.size > CIPHER_CACHE) {
        const [oldest] = ciphers.keys();
        if (oldest !== undefined) {
          ciphers.get(oldest)?.destroy();
          ciphers.delete(oldest);
        }
      }
      return c;
    },
    async setPassword(roomId, hash) {
      refuseForgotten(roomId);
      await storeSecret(roomId, `room.${roomId}.pw`, Buffer.from(hash, 'utf8'));
    },
    async password(roomId) {
      return (await keystore.getSecret(`room.${roomId}.pw`))?.toString('utf8');
    },
    async shred(roomId, epoch) {
      const r = epochKeys.get(roomId);
      r?.get(epoch)?.fill(0);
      r?.delete(epoch);
      wrappers.delete(`${roomId}|${epoch}`);
      for (const [id, c] of ciphers) {
        if (id.startsWith(`${roomId}|${epoch}|`)) {
          c.destroy();
          ciphers.delete(id);
        }
      }
      await keystore.deleteSecret(epochId(roomId, epoch)).catch(() => undefined);
    },
    async dropKek(roomId, memberId) {
      kekIds.get(roomId)?.delete(memberId);
      const id = hostKekId(roomId, memberId);
      keks.get(id)?.fill(0);
      keks.delete(id);
      await keystore.deleteSecret(id).catch(() => undefined);
    },
    async forget(roomId) {
      forgotten.add(roomId);
      for (const epoch of keys.epochs(roomId)) await keys.shred(roomId, epoch);
      epochKeys.delete(roomId);
      const prefix = `room.${roomId}.`;
      for (const [id, k] of keks) {
        if (!id.startsWith(prefix)) continue;
        k.fill(0);
        keks.delete(id);
      }
      kekIds.delete(roomId);
      for (const id of wrappers.keys()) if (id.startsWith(`${roomId}|`)) wrappers.delete(id);
      for (const [id, c] of ciphers) {
        if (!id.startsWith(`${roomId}|`)) continue;
        c.destroy();
        ciphers.delete(id);
      }
      for (const id of await keystore.listSecrets(prefix))
        await keystore.deleteSecret(id).catch(() => undefined);
    },
    async load(roomIds) {
      for (const roomId of roomIds) {
        for (const id of await keystore.listSecrets(`room.${roomId}.`)) {
          const value = await keystore.getSecret(id);
          if (!value) continue;
          const rest = id.slice(`room.${roomId}.`.length);
          if (rest.startsWith('e.')) ring(roomId).set(Number(rest.slice(2)), value);
          else if (rest === 'kek' || rest.startsWith('k.')) keks.set(id, value);
        }
      }
    },
    close() {
      for (const c of ciphers.values()) c.destroy();
      ciphers.clear();
      for (const r of epochKeys.values()) for (const k of r.values()) k.fill(0);
      epochKeys.clear();
      wrappers.clear();
      for (const k of keks.values()) k.fill(0);
      keks.clear();
      kekIds.clear();
    },
  };
  return keys;
}
