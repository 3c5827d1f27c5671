/**
 * Fuzzed envelopes and frames (A07, A21): whatever arrives, `open*` either returns a payload that
 * was really sealed by the peer, or throws an `AppError` with one of our codes. Never anything else.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../../src/errors.js';
import { overTheWire, post, sessionPair } from './support.js';

const ALLOWED = new Set([
  'ERR_INVALID_MESSAGE',
  'ERR_BODY_TOO_LARGE',
  'ERR_DECRYPT_FAILED',
  'ERR_REPLAYED',
]);

function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'opened';
  } catch (e) {
    if (!isAppError(e) || !ALLOWED.has(e.code)) throw e;
    return e.code;
  }
}

const { a, b, hs } = sessionPair();
afterAll(() => {
  a.close('done');
  b.close('done');
});

const field = fc.oneof(
  fc.anything(),
  fc.integer({ min: -2, max: 2 ** 33 }),
  fc.constant(hs.sid),
  fc.string(),
  fc.base64String().map((s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')),
);

/**
 * A genuine envelope with some fields replaced, dropped, or extra ones added; the pristine one is
 * delivered after the mutant, so the receiver's window keeps up with the sender (a sender that runs
 * more than MAX_SKIP ahead is refused by design).
 */
const mutatedEnvelope = fc
  .record({
    replace: fc.dictionary(fc.constantFrom('v', 'type', 'sid', 'epoch', 'seq', 'ct', 'x'), field),
    drop: fc.subarray(['v', 'type', 'sid', 'epoch', 'seq', 'ct']),
    flip: fc.option(fc.nat(), { nil: undefined }),
  })
  .map(({ replace, drop, flip }) => {
    const pristine = overTheWire(a.sealRequest(post('fuzz')));
    const env = { ...(pristine as Record<string, unknown>) };
    if (flip !== undefined && typeof env.ct === 'string') {
      const bytes = Buffer.from(env.ct, 'base64url');
      bytes[flip % bytes.length]! ^= 1 << (flip % 8);
      env.ct = bytes.toString('base64url');
    }
    for (const k of drop) delete env[k];
    const input: unknown = { ...env, ...replace };
    return { input, pristine };
  });

const arbitrary = fc
  .anything()
  .map((input): { input: unknown; pristine: unknown } => ({ input, pristine: undefined }));

describe('fuzzed sealed input', () => {
  it('openRequest: arbitrary values and mutated envelopes only fail with our codes', () => {
    let opened = 0;
    fc.assert(
      fc.property(fc.oneof(arbitrary, mutatedEnvelope), ({ input, pristine }) => {
        if (outcome(() => b.openRequest(input)) === 'opened') opened++;
        if (pristine !== undefined) outcome(() => b.openRequest(pristine));
      }),
      { numRuns: 3000 },
    );
    // Only untouched envelopes open (a mutation that changes nothing is possible, e.g. v: 1).
    expect(opened).toBeLessThan(3000);
  });

  it('openResponse: arbitrary values only fail with our codes', () => {
    fc.assert(
      fc.property(fc.oneof(arbitrary, mutatedEnvelope), ({ input, pristine }) => {
        const request = a.sealRequest(post());
        const opened = b.openRequest(overTheWire(request));
        expect(outcome(() => a.openResponse(request, input))).not.toBe('opened');
        const response = overTheWire(b.sealResponse(opened, { status: 200 }));
        expect(a.openResponse(request, response)).toEqual({ status: 200 });
        if (pristine !== undefined) outcome(() => b.openRequest(pristine));
      }),
      { numRuns: 1500 },
    );
  });

  it('openPush: random bytes and bit-flipped frames only fail with our codes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((frame) => ({ frame, pristine: undefined })),
          fc.record({ at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }).map(({ at, bit }) => {
            const pristine = a.sealPush({ type: 'fuzz' });
            const frame = Buffer.from(pristine);
            frame[at % frame.length]! ^= 1 << bit;
            return { frame, pristine };
          }),
          fc.nat({ max: 50 }).map((cut) => {
            const pristine = a.sealPush({ type: 'fuzz' });
            return { frame: pristine.subarray(0, cut), pristine };
          }),
        ),
        ({ frame, pristine }) => {
          expect(outcome(() => b.openPush(frame))).not.toBe('opened');
          if (pristine !== undefined) expect(b.openPush(pristine)).toEqual({ type: 'fuzz' });
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('the session still works after all that', () => {
    const env = a.sealRequest(post('alive'));
    const opened = b.openRequest(overTheWire(env));
    expect(opened.inner.body).toBe('alive');
    const frame = a.sealPush({ type: 'alive' });
    expect(b.openPush(frame)).toEqual({ type: 'alive' });
  });
});
