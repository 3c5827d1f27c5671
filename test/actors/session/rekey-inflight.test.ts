/**
 * A request in flight across two quick re-keys (§4.2): a new epoch retires the one before the
 * current, with the keys its answers open under. The requester does not start a second re-key
 * while an answer under the previous epoch is still awaited; once it arrives, the re-key goes on.
 */
import { describe, expect, it } from 'vitest';
import { overTheWire, post, rekey, sessionPair } from './support.js';

describe('a request in flight across re-keys', () => {
  it('is answered: the second re-key waits for its answer, then goes ahead', () => {
    const { a, b } = sessionPair();
    const env = a.sealRequest(post());
    const opened = b.openRequest(overTheWire(env));
    expect(rekey(a, b)).toBe(true); // epoch 1: epoch 0 still holds the request's answer keys
    expect(a.info().epoch).toBe(1);
    expect(rekey(a, b)).toBe(false); // not now: the answer under epoch 0 is awaited
    expect(a.info().epoch).toBe(1);
    const answer = b.sealResponse(opened, { status: 200, body: { ok: true } });
    expect(a.openResponse(env, overTheWire(answer))).toMatchObject({ status: 200 });
    expect(rekey(a, b)).toBe(true); // answered: the re-key goes on
    expect(a.info().epoch).toBe(2);
    expect(b.info().epoch).toBe(2);
  });

  it('goes ahead once the request is given up', () => {
    const { a, b } = sessionPair();
    const env = a.sealRequest(post());
    b.openRequest(overTheWire(env));
    expect(rekey(a, b)).toBe(true);
    expect(rekey(a, b)).toBe(false);
    a.cancelResponse(env);
    expect(rekey(a, b)).toBe(true);
    expect(a.info().epoch).toBe(2);
  });
});
