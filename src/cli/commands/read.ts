/** `conclave read`: a room's messages, once or (`--follow`) live until Ctrl-C. */
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { resolveTarget } from '../api-client.js';
import { clientOptions, type ClientOpts } from '../client-options.js';
import { printLine } from '../output.js';
import { explain, findRoom, forRoom, wholeNumber, type MessageView } from './room-client.js';
import { createRoomFeed, readMessages } from './room-feed.js';
import { formatMessage, skippedNotice } from './room-format.js';

interface ReadOpts extends ClientOpts {
  after?: string;
  limit: string;
  follow?: boolean;
}

/** Room changes that end a follower: this peer is out of the room. */
const GONE = new Set(['left', 'kicked', 'banned', 'deleted']);

export function registerReadCommand(program: Command): void {
  clientOptions(
    program
      .command('read')
      .summary("print a room's messages (--follow: and new ones as they arrive)")
      .argument('<room>', 'room name or id')
      .option('--after <seq>', 'only messages after this sequence number')
      .option('--limit <n>', 'at most this many messages (default: the latest 50)', '50')
      .option('-f, --follow', 'keep printing new messages until Ctrl-C')
      .addHelpText(
        'after',
        `
Each line: [seq] time sender: text. A message this peer cannot decrypt is still listed, as
[seq] time sender: ⚠ CODE: why (e.g. ERR_MISSING_KEY when it predates your key).

Without --after you get the latest --limit messages; with --after SEQ the first --limit after it.
With --follow, every message after SEQ (or the latest --limit), then new ones live; a dropped
connection to the peer is resumed without gaps.

Examples:
  $ conclave read lobby
  $ conclave read lobby --after 120 --limit 20
  $ conclave read lobby --follow
  $ conclave read lobby --json | jq -r .text          # JSON lines, one message each`,
      ),
  ).action(async (ref: string, o: ReadOpts) => {
    const limit = wholeNumber('--limit', o.limit, 1, 1_000);
    const explicitAfter =
      o.after === undefined ? undefined : wholeNumber('--after', o.after, 0, 2 ** 52);
    const target = await resolveTarget(o);
    const room = await forRoom(ref, () => findRoom(target, ref));
    const after = explicitAfter ?? Math.max(0, (room.seq ?? 0) - limit);
    const print = (m: MessageView): void =>
      printLine(o.json ? JSON.stringify(m) : formatMessage(m));

    if (!o.follow) {
      const msgs = await forRoom(ref, () => readMessages(target, room.roomId, after, limit));
      msgs.forEach(print);
      if (msgs.length === 0 && !o.json)
        process.stderr.write(`no messages in "${room.name}" after #${after}\n`);
      return;
    }

    const ac = new AbortController();
    const stop = (): void => ac.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    let failure: Error | undefined;
    const feed = createRoomFeed({
      target,
      roomId: room.roomId,
      after,
      signal: ac.signal,
      onMessage: print,
      onEvent: (e) => {
        if (e.event !== 'room' || e.data.roomId !== room.roomId) return;
        const change = String(e.data.change);
        if (change === 'history-skipped') process.stderr.write(`${skippedNotice(e.data)}\n`);
        if (!GONE.has(change)) return;
        failure = new AppError(
          'ERR_NOT_MEMBER',
          change === 'deleted'
            ? `room "${room.name}" was deleted by its host`
            : `this peer is no longer in room "${room.name}" (${change})`,
        );
        ac.abort();
      },
      onError: (err) => {
        failure = explain(err, ref);
        ac.abort();
      },
      onDrop: (reason) => {
        if (process.stderr.isTTY)
          process.stderr.write(`lost the connection to the peer (${reason}); reconnecting…\n`);
      },
    });
    await forRoom(ref, () => feed.run());
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    if (failure !== undefined) throw failure;
  });
}
