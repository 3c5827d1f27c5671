/** `conclave inspect`: the URL of the running peer's inspector page, token included. */
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { apiJson, resolveTarget } from '../api-client.js';
import { clientOptions, type ClientOpts } from '../client-options.js';
import { printJson, printLine } from '../output.js';

interface InspectStatus {
  readonly viewerPath: string;
  readonly eventsPath: string;
  readonly wsPath: string;
}

export function registerInspectCommand(program: Command): void {
  clientOptions(
    program
      .command('inspect')
      .summary('print the URL of the live inspector page (the peer must run with --inspect)')
      .description(
        "Print the full URL of the running peer's inspector page, with its token in the URL\n" +
          'fragment (#token=…, which the browser never sends to the server). Open it in a browser\n' +
          "on this machine to see the actor tree, each actor's state and context, the event\n" +
          'timeline and the statecharts, live. The peer must run with "conclave serve --inspect".\n\n' +
          'The URL holds the local API token: treat it like the token itself.',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  $ conclave inspect --data-dir ~/.conclave\n  $ conclave inspect --json   # {url, apiUrl, eventsUrl, wsUrl}',
      ),
  ).action(async (opts: ClientOpts) => {
    const target = await resolveTarget(opts);
    let status: InspectStatus;
    try {
      status = await apiJson<InspectStatus>(target, 'GET', '/api/inspect');
    } catch (err) {
      if (
        err instanceof AppError &&
        (err.code === 'ERR_INSPECT_OFF' || err.code === 'ERR_NOT_FOUND')
      ) {
        throw new AppError(
          'ERR_INSPECT_OFF',
          `the peer at ${target.apiUrl} runs without live inspection: restart it with "conclave serve --inspect" (or CONCLAVE_INSPECT=1), then run "conclave inspect" again`,
        );
      }
      throw err;
    }
    const token = encodeURIComponent(target.token);
    const url = `${target.apiUrl}${status.viewerPath}#token=${token}`;
    if (!opts.json) {
      printLine(url);
      return;
    }
    const ws = new URL(status.wsPath, `${target.apiUrl}/`);
    ws.protocol = 'ws:';
    ws.searchParams.set('token', target.token);
    printJson({
      url,
      apiUrl: target.apiUrl,
      eventsUrl: `${target.apiUrl}${status.eventsPath}`,
      wsUrl: ws.toString(),
    });
  });
}
