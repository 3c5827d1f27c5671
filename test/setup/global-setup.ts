/**
 * Runs once before the suite: says loudly which optional tiers will be skipped and why, so a green
 * run never hides a tier that did not run.
 */
import { existsSync } from 'node:fs';
import { wycheproofDir } from '../support/paths.js';

export default function setup(): void {
  const lines: string[] = [];
  if (!process.env.MONGODB_URI) {
    lines.push(
      'MONGO CONTRACT: SKIPPED (MONGODB_URI unset; run `MONGODB_URI=mongodb://… npm run test:mongo`)',
    );
  } else {
    lines.push(
      `MONGO CONTRACT: running against ${process.env.MONGODB_URI.replace(/\/\/[^@]*@/, '//***@')}`,
    );
  }
  if (!existsSync(wycheproofDir)) {
    lines.push(`WYCHEPROOF: SKIPPED (vectors folder not found at ${wycheproofDir})`);
  }
  for (const l of lines) process.stderr.write(`\n*** ${l} ***\n`);
}
