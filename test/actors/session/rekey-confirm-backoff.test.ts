/**
 * An owed `rekey.confirm` (protocol §4.2) is re-sent with backoff: the first re-send may go at
 * once, each later one only after an interval doubling from 1 s up to 30 s — so a burst of the
 * peer's pushes under the old epoch draws one confirmation, not one each — and it still goes
 * until the peer is seen on the new epoch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  confirmDueIn,
  confirmResent,
  type ConfirmBackoff,
} from '../../../src/actors/session/confirm-backoff.js';
import { exchange, sessionPair, type Pair } from './support.js';

const pairs: Pair[] = [];
afterEach(() => {
  for (const { a, b } of pairs.splice(0)) for (const s of [a, b]) s.close('test over');
});

/** `a` (requester) re-keys against `b`, and its confirmation is lost on the way. */
function rekeyLosingConfirm(p: Pair): void {
  const confirm = p.a.completeRekey(exchange(p.a, p.b, p.a.startRekey()!));
  expect(confirm?.body).toMatchObject({ type: 'rekey.confirm' });
  p.a.sealRequest(confirm!); // sealed and sent… and never arrives
}

function pair(): Pair {
  const p = sessionPair();
  pairs.push(p);
  return p;
}

const CONFIRM = { type: 'rekey.confirm', epoch: 1 };

describe('the confirmation backoff', () => {
  it('doubles from 1 s to at most 30 s, per epoch', () => {
    let b: ConfirmBackoff | undefined;
    const waits: number[] = [];
    let now = 0;
    for (let i = 0; i < 8; i++) {
      b = confirmResent(b, 1, now);
      waits.push(confirmDueIn(b, 1, now));
      now = b.nextAt;
      expect(confirmDueIn(b, 1, now)).toBe(0);
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(confirmDueIn(b, 2, now - 1)).toBe(0); // another epoch starts afresh
  });
});

describe('an owed re-key confirmation', () => {
  it('is due again at most once per interval, the interval doubling up to 30 s', () => {
    const p = pair();
    rekeyLosingConfirm(p);
    const { a, clock } = p;
    expect(a.needsRekey()).toBe(true); // the first re-send goes with the next traffic
    expect(a.startRekey()?.body).toEqual(CONFIRM);
    for (const wait of [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]) {
      expect(a.needsRekey()).toBe(false);
      clock.advance(wait - 1);
      expect(a.needsRekey()).toBe(false);
      expect(a.confirmDueIn()).toBe(1);
      clock.advance(1);
      expect(a.needsRekey()).toBe(true);
      expect(a.confirmDueIn()).toBe(0);
      expect(a.startRekey()?.body).toEqual(CONFIRM);
    }
  });

  it('still reaches the peer in the end, and the next re-key’s starts afresh', () => {
    const p = pair();
    rekeyLosingConfirm(p);
    const { a, b, clock } = p;
    a.sealRequest(a.startRekey()!); // re-sent at once… and lost too
    expect(a.needsRekey()).toBe(false);
    clock.advance(1_000);
    expect(a.needsRekey()).toBe(true);
    exchange(a, b, a.startRekey()!);
    expect(b.info().epoch).toBe(1);
    expect(a.info().stats.rekey).toBe('idle');
    expect(a.confirmDueIn()).toBeUndefined();
    expect(a.needsRekey()).toBe(false);

    const confirm = a.completeRekey(exchange(a, b, a.startRekey()!));
    expect(confirm?.body).toEqual({ type: 'rekey.confirm', epoch: 2 });
    a.sealRequest(confirm!); // lost
    expect(a.confirmDueIn()).toBe(0);
    expect(a.needsRekey()).toBe(true);
  });

  it('is not owed by the peer that did not start the re-key', () => {
    const p = pair();
    rekeyLosingConfirm(p);
    expect(p.b.confirmDueIn()).toBeUndefined();
  });
});
