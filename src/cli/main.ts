#!/usr/bin/env node
/**
 * Entry point of the conclave command line. `cli/` is the only reader of `process.env` (through
 * commander's `.env()` on each option).
 */
import { AppError } from '../errors.js';
import { fail } from './output.js';
import { buildProgram } from './program.js';

export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    fail(
      err instanceof AppError
        ? err
        : new AppError('ERR_INTERNAL', String((err as Error)?.message ?? err), { cause: err }),
    );
  }
}

await main(process.argv);
