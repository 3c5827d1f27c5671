/** The command tree of the conclave CLI. */
import { Command } from 'commander';
import { SOFTWARE_VERSION } from '../protocol/version.js';
import { registerInfoCommand } from './commands/info.js';
import { registerLogCommand } from './commands/log.js';
import { registerServeCommand } from './commands/serve.js';
import { registerPeersCommands } from './commands/peers.js';
import { registerConnectCommands } from './commands/connect.js';
import { registerInspectCommand } from './commands/inspect.js';
import { registerRoomCommands } from './commands/room.js';
import { registerSendCommand } from './commands/send.js';
import { registerReadCommand } from './commands/read.js';
import { registerChatCommand } from './commands/chat.js';

export function buildProgram(): Command {
  const program = new Command('conclave')
    .description(
      'End-to-end encrypted, peer-to-peer group messaging for local networks.\n\n' +
        'Run a peer with "conclave serve"; every other command talks to a running peer\n' +
        'through its local API (found via --data-dir, or --api and --token).',
    )
    .version(SOFTWARE_VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    .enablePositionalOptions()
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .addHelpText(
      'after',
      `
Examples:
  $ conclave serve --volatile                   # a throw-away peer, nothing written to disk
  $ conclave serve --data-dir ~/.conclave --store file:$HOME/.conclave/log
  $ conclave info --data-dir ~/.conclave
  $ conclave log --follow

Every serve flag can also be set as CONCLAVE_<FLAG> (e.g. CONCLAVE_API_PORT=7501); flags win.`,
    );
  registerServeCommand(program);
  registerInfoCommand(program);
  registerPeersCommands(program);
  registerConnectCommands(program);
  registerRoomCommands(program);
  registerSendCommand(program);
  registerReadCommand(program);
  registerChatCommand(program);
  registerLogCommand(program);
  registerInspectCommand(program);
  return program;
}
