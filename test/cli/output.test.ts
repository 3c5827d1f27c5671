/**
 * `fail()` prints an error's message, which can carry another peer's words (a responder's problem
 * reason, a host's refusal): none of its control characters reach the terminal, and it stays on
 * one line.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../src/errors.js';
import { fail } from '../../src/cli/output.js';

afterEach(() => vi.restoreAllMocks());

/** What `fail(err)` writes to stderr, and the exit code it asks for. */
function failOutput(err: AppError): { stderr: string; code: number | undefined } {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  let code: number | undefined;
  vi.spyOn(process, 'exit').mockImplementation(((c?: number) => {
    code = c;
    throw new Error('exit');
  }) as never);
  expect(() => fail(err)).toThrow('exit');
  return { stderr, code };
}

describe('fail', () => {
  it('strips terminal control sequences and newlines from the message', () => {
    const evil = 'peer said \u001b]0;pwned\u0007\u001b[2J\u001b[31mOK\r\nconclave: fake\u009b';
    const { stderr, code } = failOutput(new AppError('ERR_HANDSHAKE_FAILED', evil));
    // eslint-disable-next-line no-control-regex -- the assertion is about control characters
    expect(stderr.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(stderr).toBe('conclave: peer said ]0;pwnedOK conclave: fake [ERR_HANDSHAKE_FAILED]\n');
    expect(code).toBe(1);
  });

  it('prints an ordinary message as it is', () => {
    const { stderr, code } = failOutput(new AppError('ERR_INVALID_ARGUMENT', 'bad --port: x'));
    expect(stderr).toBe('conclave: bad --port: x [ERR_INVALID_ARGUMENT]\n');
    expect(code).toBe(2);
  });
});
