/** `conclave send`: post one message to a room. */
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { apiJson, resolveTarget } from '../api-client.js';
import { clientOptions, type ClientOpts } from '../client-options.js';
import { printJson, printLine } from '../output.js';
import { forRoom, readStdin, roomPath, withProgress } from './room-client.js';

interface SendResult {
  id: string;
  seq: number;
  epoch: number;
  sentAt: string;
}

export function registerSendCommand(program: Command): void {
  clientOptions(
    program
      .command('send')
      .summary('send a message to a room')
      .argument('<room>', 'room name or id')
      .argument('<text...>', 'the message (words are joined with spaces); - reads it from stdin')
      .option(
        '--id <id>',
        'your own message id (8–64 of A-Z a-z 0-9 _ -): sending again with the same id never duplicates',
      )
      .addHelpText(
        'after',
        `
The message is encrypted and signed on this peer; the room host only orders it. The output
names its sequence number, the same one "conclave read" shows.

Examples:
  $ conclave send lobby hello everyone
  $ conclave send lobby -- -5 degrees outside       # text that starts with "-": put -- first
  $ uptime | conclave send lobby -                  # the message from stdin
  $ conclave send lobby --id deploy-0042 "deploy finished"   # safe to retry: no duplicate`,
      ),
  ).action(async (ref: string, words: string[], o: ClientOpts & { id?: string }) => {
    const raw = words.length === 1 && words[0] === '-' ? await readStdin() : words.join(' ');
    const text = raw.replace(/\r?\n$/, '');
    if (text.trim() === '')
      throw new AppError('ERR_INVALID_ARGUMENT', 'nothing to send: the message is empty');
    if (o.id !== undefined && !/^[A-Za-z0-9_-]{8,64}$/.test(o.id))
      throw new AppError(
        'ERR_INVALID_ARGUMENT',
        '--id takes 8 to 64 letters, digits, - and _ (e.g. --id deploy-0042)',
      );
    const target = await resolveTarget(o);
    const r = await forRoom(ref, () =>
      withProgress(`sending to ${ref}`, () =>
        apiJson<SendResult>(target, 'POST', roomPath(ref, '/messages'), {
          text,
          ...(o.id !== undefined ? { id: o.id } : {}),
        }),
      ),
    );
    if (o.json) printJson(r);
    else printLine(`sent #${r.seq} to ${ref} (id ${r.id}, key epoch ${r.epoch})`);
  });
}
