/**
 * When the owed `rekey.confirm` of our last re-key may be sent again (protocol §4.2). It is owed
 * until the peer is seen on the new epoch, and re-sent with our next traffic; a burst of the
 * peer's pushes under the old epoch must not each draw one. So: the first re-send may go at once
 * (the confirmation itself went out with the re-key, and the delivery layer never re-sends while
 * it is still on its way), each later one only after an interval that doubles from
 * `firstMs` (1 s) up to `maxMs` (30 s). No I/O and no clock: times are passed in.
 */

export interface ConfirmBackoffOptions {
  /** The wait after the first re-send. */
  readonly firstMs: number;
  /** The longest wait between two re-sends. */
  readonly maxMs: number;
}

export const CONFIRM_BACKOFF: ConfirmBackoffOptions = { firstMs: 1_000, maxMs: 30_000 };

/** The re-sends of one epoch's confirmation so far. */
export interface ConfirmBackoff {
  /** The epoch whose confirmation was re-sent. */
  readonly epoch: number;
  /** No re-send before this time (ms). */
  readonly nextAt: number;
  /** The wait after the next re-send. */
  readonly delayMs: number;
}

/**
 * Milliseconds until the confirmation of `epoch` may be re-sent (0: now). A backoff of another
 * epoch is stale: that re-key was confirmed, and this one starts afresh.
 */
export function confirmDueIn(b: ConfirmBackoff | undefined, epoch: number, now: number): number {
  return b === undefined || b.epoch !== epoch ? 0 : Math.max(0, b.nextAt - now);
}

/**
 * The backoff after re-sending the confirmation of `epoch` at `now`.
 *
 * @example
 * let b = confirmResent(undefined, 1, 0); // next at 1 000
 * b = confirmResent(b, 1, 1_000);         // next at 3 000, then 7 000, 15 000, 31 000, 61 000 …
 */
export function confirmResent(
  b: ConfirmBackoff | undefined,
  epoch: number,
  now: number,
  options: ConfirmBackoffOptions = CONFIRM_BACKOFF,
): ConfirmBackoff {
  const wait = b?.epoch === epoch ? b.delayMs : options.firstMs;
  return { epoch, nextAt: now + wait, delayMs: Math.min(wait * 2, options.maxMs) };
}
