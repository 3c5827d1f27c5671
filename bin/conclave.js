#!/usr/bin/env node
// The `conclave` command. Runs the compiled CLI; `npm ci` builds it (the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write('conclave: not built yet; run "npm run build" (or "npm ci") in the repository first\n');
  process.exit(1);
}
await import(entry);
