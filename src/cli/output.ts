/** Exit paths and output helpers shared by CLI commands. */
import type { AppError } from '../errors.js';
import { printable } from './commands/room-format.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(line: string): void {
  process.stdout.write(`${line}\n`);
}

const EXIT_CODE: Readonly<Partial<Record<AppError['code'], number>>> = {
  ERR_INVALID_CONFIG: 2,
  ERR_INVALID_ARGUMENT: 2,
  ERR_NOT_RUNNING: 3,
  ERR_UNAUTHORIZED: 4,
};

/**
 * Print a one-line error (with its code) and exit non-zero. The message can carry another peer's
 * words (a responder's problem, a host's refusal): control characters go, and it stays one line.
 */
export function fail(err: AppError): never {
  process.stderr.write(`conclave: ${printable(err.message)} [${err.code}]\n`);
  process.exit(EXIT_CODE[err.code] ?? 1);
}
