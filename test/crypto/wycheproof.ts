/**
 * Loads Wycheproof vector files in place from the shared folder (never copied into the repo). When
 * the folder is absent every Wycheproof suite skips, and this says so loudly, naming the folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { wycheproofDir } from '../support/paths.js';

export const hasWycheproof = existsSync(wycheproofDir);

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

export interface WycheproofTest {
  readonly tcId: number;
  readonly comment: string;
  readonly flags: readonly string[];
  readonly result: WycheproofResult;
}

export interface WycheproofFile<G extends { readonly tests: readonly WycheproofTest[] }> {
  readonly algorithm: string;
  readonly numberOfTests: number;
  readonly testGroups: readonly G[];
}

/**
 * The parsed file, or `undefined` (with a loud warning) when the vectors folder is absent. A missing
 * file inside a present folder is an error, not a skip.
 */
export function loadVectors<G extends { readonly tests: readonly WycheproofTest[] }>(
  file: string,
): WycheproofFile<G> | undefined {
  if (!hasWycheproof) {
    console.warn(
      `\n*** WYCHEPROOF ${file}: SKIPPED — vectors folder not found at ${wycheproofDir} ` +
        `(set WYCHEPROOF_DIR or check out ../shared/vectors/wycheproof) ***\n`,
    );
    return undefined;
  }
  return JSON.parse(readFileSync(join(wycheproofDir, file), 'utf8')) as WycheproofFile<G>;
}

/** Every test of a file with its group, in file order. */
export function allTests<G extends { readonly tests: readonly WycheproofTest[] }>(
  file: WycheproofFile<G>,
): Array<{ group: G; test: G['tests'][number] }> {
  return file.testGroups.flatMap((group) => group.tests.map((test) => ({ group, test })));
}

export const hex = (text: string): Buffer => Buffer.from(text, 'hex');

/** The `code` of what `fn` throws, or `'none'` if it returns. */
export function thrownCode(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (err) {
    return (err as { code?: string }).code ?? 'uncoded';
  }
}
