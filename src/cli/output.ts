/** Exit paths and output helpers shared by CLI commands. */
import type { AppError } from '../errors.js';

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

/** Print a one-line error (with its code) and exit non-zero. */
export function fail(err: AppError): never {
  process.stderr.write(`conclave: ${err.message} [${err.code}]\n`);
  process.exit(EXIT_CODE[err.code] ?? 1);
}
