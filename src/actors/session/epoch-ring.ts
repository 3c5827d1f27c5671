/**
 * The epochs one session holds (protocol §4.2): the `current` one, which seals; a peer-initiated
 * `next` one, installed for receiving until the initiator's first message under it arrives; and
 * the `previous` one, kept for receiving during a grace period after it stopped sealing. Retiring
 * an epoch wipes everything it holds. Time is read only to end the grace, lazily on each use.
 *
 * The grace of `previous` starts only once the peer has been seen on the current epoch (a message
 * sealed under it opened). After our own re-key the peer keeps sealing under the old epoch until
 * our first new-epoch message reaches it (protocol §4.2); if that message is lost, a grace timed
 * from our switch would wipe the very keys the peer still uses, and every later message of its
 * would fail (`unknown-epoch`). Keeping them costs no forward secrecy the peer has not kept itself:
 * our old sending chains and root are wiped at the switch, the receiving chains still ratchet and
 * wipe each used key, and the peer holds the same keys until it moves. Once its first new-epoch
 * message opens, the grace runs and the old epoch is wiped as before.
 */
import { AppError } from '../../errors.js';
import { destroyEpoch, stopSending, type EpochKeys } from './epoch-keys.js';

export interface EpochRingEvents {
  /** A new epoch now seals our messages. */
  promoted?(epoch: number, keyId: string): void;
  /** A superseded epoch's keys were wiped. */
  retired?(epoch: number): void;
}

export interface EpochRing {
  /** The sealing epoch, after retiring a previous one whose grace ran out. */
  readonly live: () => EpochKeys;
  /** The held epoch numbered `epoch`, if any (current, next or previous). */
  readonly find: (epoch: number) => EpochKeys | undefined;
  /** The installed, unconfirmed peer-initiated epoch. */
  readonly next: () => EpochKeys | undefined;
  /** Install a peer-initiated epoch for receiving, replacing an unconfirmed one. */
  readonly install: (next: EpochKeys) => void;
  /**
   * Our own re-key completed: seal under `to` from now on. The current epoch becomes the previous
   * one, kept (without a grace yet) until the peer is `seen` on `to`.
   */
  readonly promote: (to: EpochKeys) => void;
  /**
   * A message sealed by the peer under `e` opened. The peer's unconfirmed `next` epoch now seals
   * too; and if `e` is current, the previous epoch's grace starts (the peer has moved on).
   */
  readonly seen: (e: EpochKeys) => void;
  /** True while the previous epoch waits for the peer's first message under the current one. */
  readonly isPeerBehind: () => boolean;
  /** Epochs held, oldest first. */
  readonly held: () => readonly EpochKeys[];
  /** The last sealing epoch, also after `destroy`. */
  readonly last: () => { readonly epoch: number; readonly keyId: string };
  readonly isDestroyed: boolean;
  readonly destroy: () => void;
}

/**
 * @example
 * const ring = createEpochRing(epochFromMaterial(material, {}), { now: Date.now, graceMs: 30_000 });
 * const e = ring.live();
 */
export function createEpochRing(
  first: EpochKeys,
  options: { readonly now: () => number; readonly graceMs: number; readonly on?: EpochRingEvents },
): EpochRing {
  const { now, graceMs } = options;
  const on = options.on ?? {};
  let current: EpochKeys | undefined = first;
  let next: EpochKeys | undefined;
  let previous: EpochKeys | undefined;
  /** `previous` has no grace yet: the peer has not been seen on `current`. */
  let isPeerBehind = false;
  let last = { epoch: first.epoch, keyId: first.keyId };

  const retire = (e: EpochKeys): void => {
    destroyEpoch(e);
    on.retired?.(e.epoch);
  };

  const live = (): EpochKeys => {
    if (current === undefined) throw new AppError('ERR_UNKNOWN_SESSION', 'session is closed');
    if (previous?.retireAt !== undefined && now() >= previous.retireAt) {
      retire(previous);
      previous = undefined;
    }
    return current;
  };

  /** Seal under `to`; the grace of the old epoch starts now only if the peer is already on `to`. */
  const promote = (to: EpochKeys, isPeerOnIt: boolean): void => {
    const old = live();
    stopSending(old);
    if (previous !== undefined) retire(previous);
    if (next !== undefined && next !== to) destroyEpoch(next);
    old.retireAt = isPeerOnIt ? now() + graceMs : undefined;
    isPeerBehind = !isPeerOnIt;
    previous = old;
    current = to;
    next = undefined;
    last = { epoch: to.epoch, keyId: to.keyId };
    on.promoted?.(to.epoch, to.keyId);
  };

  return {
    live,
    find(epoch) {
      if (current?.epoch === epoch) return current;
      if (next?.epoch === epoch) return next;
      return previous?.epoch === epoch ? previous : undefined;
    },
    next: () => next,
    install: (epoch) => {
      if (next !== undefined) destroyEpoch(next);
      next = epoch;
    },
    promote: (to) => promote(to, false),
    seen: (e) => {
      if (e === next) promote(e, true);
      else if (e === current && isPeerBehind && previous !== undefined) {
        previous.retireAt = now() + graceMs;
        isPeerBehind = false;
      }
    },
    isPeerBehind: () => isPeerBehind,
    held: () => [previous, current, next].filter((e): e is EpochKeys => e !== undefined),
    last: () => last,
    get isDestroyed() {
      return current === undefined;
    },
    destroy: () => {
      for (const e of [previous, current, next]) if (e !== undefined) destroyEpoch(e);
      previous = current = next = undefined;
      isPeerBehind = false;
    },
  };
}
