/** `conclave connect` and `conclave ping`: open a session with a peer now, and use it. */
import type { Command } from 'commander';
import { apiJson, resolveTarget } from '../api-client.js';
import { clientOptions, type ClientOpts } from '../client-options.js';
import { formatKeyValues } from '../format.js';
import { printJson, printLine } from '../output.js';

interface ConnectResult {
  peerId: string;
  sessionId: string;
  fingerprint: string;
  sas: string;
  suite: string;
  trust: string | null;
  name?: string | null;
}

export function registerConnectCommands(program: Command): void {
  clientOptions(
    program
      .command('connect')
      .summary('handshake with a peer now (by URL or peer id) and open a session')
      .argument(
        '<url-or-peer-id>',
        'http://host:port of a peer, or a (prefix of a) discovered peer id',
      )
      .addHelpText(
        'after',
        `
After the handshake both sides show the same short authentication string (SAS). Compare it with
the other person over a channel you trust (in person, by voice); if it matches, run
"conclave verify PEER" on both sides.

Examples:
  $ conclave connect http://192.168.1.20:7400
  $ conclave connect 3f9a1c --json`,
      ),
  ).action(async (target: string, o: ClientOpts) => {
    const body = /^https?:\/\//i.test(target) ? { url: target } : { peerId: target };
    const r = await apiJson<ConnectResult>(
      await resolveTarget(o),
      'POST',
      '/api/peers/connect',
      body,
    );
    if (o.json) {
      printJson(r);
      return;
    }
    printLine(
      formatKeyValues([
        ['peer id', r.peerId],
        ['name', r.name ?? null],
        ['fingerprint', r.fingerprint],
        ['session', r.sessionId],
        ['suite', r.suite],
        ['trust', r.trust],
        ['SAS', r.sas],
      ]),
    );
    if (r.trust !== 'verified') {
      printLine(
        '\nCompare the SAS with the other side out of band; if it matches: conclave verify ' +
          r.peerId.slice(0, 12),
      );
    }
  });

  clientOptions(
    program
      .command('ping')
      .summary(
        'a sealed round trip to a connected peer (over HTTP, or --push over the session link)',
      )
      .argument('<peer-id>', 'peer id or unique prefix')
      .option('--push', 'use the WebSocket link instead of a sealed HTTP request'),
  ).action(async (peerId: string, o: ClientOpts & { push?: boolean }) => {
    const r = await apiJson<{ rttMs: number; via: string; epoch: number; sessionId: string }>(
      await resolveTarget(o),
      'POST',
      `/api/peers/${encodeURIComponent(peerId)}/ping${o.push ? '?via=push' : ''}`,
      {},
    );
    if (o.json) printJson(r);
    else
      printLine(
        `sealed ${r.via} round trip ${r.rttMs.toFixed(2)} ms (session ${r.sessionId}, epoch ${r.epoch})`,
      );
  });
}
