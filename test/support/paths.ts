import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** The pinned Wycheproof vectors, read in place from the shared folder beside the repo. */
export const wycheproofDir = resolve(
  process.env.WYCHEPROOF_DIR ?? resolve(repoRoot, '..', 'shared', 'vectors', 'wycheproof'),
);
