/** `conclave info`: who the running peer is. */
import type { Command } from 'commander';
import { formatFingerprint } from '../../crypto/identity.js';
import type { PeerInfo } from '../../machines/peer.machine.js';
import { apiJson, resolveTarget } from '../api-client.js';
import { clientOptions } from '../client-options.js';
import { formatKeyValues } from '../format.js';
import { printJson, printLine } from '../output.js';

interface ClientOpts {
  dataDir: string;
  api?: string;
  token?: string;
  json: boolean;
}

export function registerInfoCommand(program: Command): void {
  clientOptions(
    program
      .command('info')
      .summary('show the running peer: id, fingerprint, addresses, store')
      .addHelpText('after', '\nExample:\n  $ conclave info --data-dir ~/.conclave --json'),
  ).action(async (opts: ClientOpts) => {
    const target = await resolveTarget(opts);
    const info = await apiJson<PeerInfo>(target, 'GET', '/api/info');
    if (opts.json) {
      printJson(info);
      return;
    }
    printLine(
      formatKeyValues([
        ['name', info.name],
        ['peer id', info.peerId],
        ['fingerprint', formatFingerprint(info.fingerprint)],
        ['identity', info.identityKind],
        ['peer API', info.peerUrl],
        ['local API', info.apiUrl],
        ['store', info.store],
        ['state', info.state],
        ['started', info.startedAt],
        ['version', info.version],
      ]),
    );
  });
}
