/**
 * The epochs one session holds (protocol §4.2): the `current` one, which seals; a peer-initiated
 * `next` one, installed for receiving until the initiator's first message under it arrives; and
 * the `previous` one, kept for receiving during a grace period after it stopped sealing. Retiring
 * an epoch wipes everything it holds. Time is read only to end the grace, lazily on each use.
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
  /** Seal under `to` from now on; the current epoch becomes the previous one. */
  readonly promote: (to: EpochKeys) => void;
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
    promote: (to) => {
      const old = live();
      stopSending(old);
      if (previous !== undefined) retire(previous);
      if (next !== undefined && next !== to) destroyEpoch(next);
      old.retireAt = now() + graceMs;
      previous = old;
      current = to;
      next = undefined;
      last = { epoch: to.epoch, keyId: to.keyId };
      on.promoted?.(to.epoch, to.keyId);
    },
    held: () => [previous, current, next].filter((e): e is EpochKeys => e !== undefined),
    last: () => last,
    get isDestroyed() {
      return current === undefined;
    },
    destroy: () => {
      for (const e of [previous, current, next]) if (e !== undefined) destroyEpoch(e);
      previous = current = next = undefined;
    },
  };
}
