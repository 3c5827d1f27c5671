/**
 * A responder's problem `reason` reaches the user's error message (`conclave connect`): only a
 * reason word is read from it, known or not; any other text is dropped and the code kept.
 */
import { describe, expect, it } from 'vitest';
import { decodeProblem } from '../../src/protocol/handshake.codec.js';

const problem = (reason: unknown) => ({ status: 422, code: 'ERR_HANDSHAKE_FAILED', reason });

describe('decodeProblem reason', () => {
  it('reads a reason word, one we do not know yet among them', () => {
    expect(decodeProblem(problem('key-changed'))).toEqual({
      code: 'ERR_HANDSHAKE_FAILED',
      reason: 'key-changed',
    });
    expect(decodeProblem(problem('some-future-reason'))?.reason).toBe('some-future-reason');
    expect(decodeProblem(problem(`a${'-'.repeat(39)}`))?.reason).toHaveLength(40);
  });

  it('drops any other reason text and keeps the code', () => {
    for (const reason of [
      '\u001b]0;pwned\u0007\u001b[2J',
      'stale\n',
      'Stale',
      'key changed',
      'v2',
      '-stale',
      '',
      `a${'-'.repeat(40)}`,
      42,
    ])
      expect(decodeProblem(problem(reason))).toEqual({ code: 'ERR_HANDSHAKE_FAILED' });
  });
});
