import { Option, type Command } from 'commander';
import { defaultDataDir } from './serve-config.js';

/** Options shared by the client commands. */
export function clientOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--data-dir <dir>', 'data dir of the peer to talk to')
        .env('CONCLAVE_DATA_DIR')
        .default(defaultDataDir(), '~/.conclave'),
    )
    .addOption(
      new Option('--api <url>', 'local API URL of the peer (instead of --data-dir)').env(
        'CONCLAVE_API',
      ),
    )
    .addOption(
      new Option('--token <token>', 'local API token (instead of <data-dir>/api-token)').env(
        'CONCLAVE_TOKEN',
      ),
    )
    .option('--json', 'machine-readable output', false);
}

/** What `clientOptions` adds to a command's options. */
export interface ClientOpts {
  dataDir: string;
  api?: string;
  token?: string;
  json: boolean;
}
