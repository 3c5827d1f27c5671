/**
 * A re-key whose `rekey.confirm` is lost (protocol §4.2): the initiator keeps the old epoch's
 * receiving keys until the peer is seen on the new one, re-sends the confirmation until then, and
 * still wipes the old keys a grace after the peer moved on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Session } from '../../../src/actors/session/session-actor.js';
import { REKEY_PATH } from '../../../src/protocol/sealed.codec.js';
import { exchange, post, sessionPair, type Pair } from './support.js';

const GRACE = 30_000;

const pairs: Pair[] = [];
afterEach(() => {
  for (const { a, b } of pairs.splice(0)) for (const s of [a, b]) s.close('test over');
});

/** `a` (requester) re-keys against `b`, and its confirmation is lost on the way. */
function rekeyLosingConfirm(): Pair {
  const p = sessionPair({ graceMs: GRACE });
  pairs.push(p);
  const start = p.a.startRekey()!;
  const confirm = p.a.completeRekey(exchange(p.a, p.b, start));
  expect(confirm?.body).toEqual({ type: 'rekey.confirm', epoch: 1 });
  p.a.sealRequest(confirm!); // sealed and sent… and never arrives
  return p;
}

const epochOfFrame = (frame: Buffer): number => frame.readUInt32BE(9);
const held = (s: Session) => s.info().stats.heldEpochs;

describe('a lost re-key confirmation', () => {
  it('leaves the initiator able to open the peer’s pushes after the grace', () => {
    const { a, b, clock } = rekeyLosingConfirm();
    expect(a.info().epoch).toBe(1);
    expect(b.info().epoch).toBe(0);
    clock.advance(GRACE + 1_000);
    for (const n of [1, 2]) {
      const frame = b.sealPush({ type: 'after.grace', n });
      expect(epochOfFrame(frame)).toBe(0);
      expect(a.openPush(frame)).toEqual({ type: 'after.grace', n });
    }
    expect(a.info().stats.failures['unknown-epoch']).toBe(0);
    expect(held(a)).toEqual([0, 1]);
  });

  it('is owed, and re-sent, until the peer is seen on the new epoch', () => {
    const { a, b } = rekeyLosingConfirm();
    expect(a.info().stats.rekey).toBe('confirming');
    expect(a.needsRekey()).toBe(true);
    const again = a.startRekey();
    expect(again).toEqual({
      method: 'POST',
      path: REKEY_PATH,
      body: { type: 'rekey.confirm', epoch: 1 },
    });
    expect(a.completeRekey(exchange(a, b, again!))).toBeUndefined();
    expect(b.info().epoch).toBe(1);
    expect(a.info().stats.rekey).toBe('idle');
    expect(a.needsRekey()).toBe(false);
    expect(b.openPush(a.sealPush({ type: 'p' }))).toEqual({ type: 'p' });
    expect(a.openPush(b.sealPush({ type: 'q' }))).toEqual({ type: 'q' });
  });

  it('wipes the old epoch a grace after the peer moved on, refusing its late pushes', () => {
    const { a, b, clock } = rekeyLosingConfirm();
    clock.advance(GRACE + 1_000);
    const late = b.sealPush({ type: 'late' }); // sealed under 0 before b moves on
    exchange(a, b, a.startRekey()!); // the re-sent confirmation arrives
    expect(held(a)).toEqual([0, 1]);
    clock.advance(GRACE - 1);
    expect(held(a)).toEqual([0, 1]);
    clock.advance(2);
    expect(held(a)).toEqual([1]);
    expect(held(b)).toEqual([1]);
    expect(() => a.openPush(late)).toThrow(expect.objectContaining({ code: 'ERR_DECRYPT_FAILED' }));
    expect(a.info().stats.failures['unknown-epoch']).toBe(1);
  });

  it('counts any message of the peer under the new epoch as moving on', () => {
    const { a, b, clock } = rekeyLosingConfirm();
    expect(b.openPush(a.sealPush({ type: 'p' }))).toEqual({ type: 'p' }); // b switches here
    expect(a.info().stats.rekey).toBe('confirming'); // a has not seen b on epoch 1 yet
    expect(a.openPush(b.sealPush({ type: 'q' }))).toEqual({ type: 'q' });
    expect(a.info().stats.rekey).toBe('idle');
    expect(a.needsRekey()).toBe(false);
    clock.advance(GRACE + 1);
    expect(held(a)).toEqual([1]);
  });

  it('starts no new re-key before the peer follows the last one', () => {
    const { a, b } = rekeyLosingConfirm();
    for (let i = 0; i < 3; i++) {
      expect(a.startRekey()?.body).toEqual({ type: 'rekey.confirm', epoch: 1 });
    }
    exchange(a, b, post('any request under epoch 1 moves b on'));
    const next = a.startRekey();
    expect(next?.body).toMatchObject({ type: 'rekey', epoch: 2 });
  });
});
