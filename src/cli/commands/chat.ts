/**
 * `conclave chat`: an interactive room. Recent history, then live messages with sender names and
 * trust badges; each typed line is sent, and shown once, when the host has sequenced it (so every
 * member sees the same order). Piped stdin works too: each line is sent, EOF ends the chat.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { apiJson, resolveTarget, type ApiTarget } from '../api-client.js';
import { clientOptions, type ClientOpts } from '../client-options.js';
import { createChatScreen, type ChatScreen } from './chat-screen.js';
import type { FeedEvent } from './event-stream.js';
import {
  explain,
  findRoom,
  forRoom,
  roomPath,
  shellWord,
  trustByPeer,
  wholeNumber,
  type MemberView,
  type RoomView,
} from './room-client.js';
import { createRoomFeed } from './room-feed.js';
import {
  formatMembers,
  formatMessage,
  printable,
  skippedNotice,
  trustBadge,
} from './room-format.js';

const HELP = [
  'Type a line and press Enter to send it (start it with // to send a line that begins with /).',
  '  /members   who is in the room, with trust badges (✔ verified, ? unverified, ✖ blocked)',
  '  /leave     leave the room and quit',
  '  /quit      quit the chat; you stay in the room (also Ctrl-D or Ctrl-C)',
  '  /help      this list',
];

/** How long, at the end, to wait for our last messages to come back sequenced. */
const DRAIN_MS = 5_000;

interface Chat {
  readonly target: ApiTarget;
  readonly room: RoomView;
  readonly self: string;
  readonly screen: ChatScreen;
  /** Messages as JSON lines instead of text. */
  readonly json: boolean;
  trust: Map<string, string | null>;
  members: MemberView[];
}

function notice(chat: Chat, text: string): void {
  if (chat.screen.isTty) chat.screen.say(`* ${text}`);
  else process.stderr.write(`* ${text}\n`);
}

async function refreshMembers(chat: Chat): Promise<void> {
  const now = await apiJson<MemberView[]>(
    chat.target,
    'GET',
    roomPath(chat.room.roomId, '/members'),
  );
  const before = new Set(chat.members.map((m) => m.peerId));
  const after = new Set(now.map((m) => m.peerId));
  for (const m of now) if (!before.has(m.peerId)) notice(chat, `${printable(m.name)} joined`);
  for (const m of chat.members) if (!after.has(m.peerId)) notice(chat, `${printable(m.name)} left`);
  chat.members = now;
}

async function showMembers(chat: Chat): Promise<void> {
  const [members, trust] = await Promise.all([
    apiJson<MemberView[]>(chat.target, 'GET', roomPath(chat.room.roomId, '/members')),
    trustByPeer(chat.target),
  ]);
  chat.members = members;
  chat.trust = trust;
  chat.screen.say(formatMembers(members, trust, chat.self));
}

export function registerChatCommand(program: Command): void {
  clientOptions(
    program
      .command('chat')
      .summary('talk in a room interactively: type to send, see messages live')
      .argument('<room>', 'room name or id (join it first)')
      .option('--history <n>', 'how many recent messages to show first', '20')
      .addHelpText(
        'after',
        `
Each message shows [seq] time sender badge: text, where the badge is the sender's trust:
✔ verified, ? unverified, ✖ blocked. Your own lines appear once the room host has ordered them.
In the chat: /members, /leave, /quit, /help. With --json, messages print as JSON lines.

Examples:
  $ conclave chat lobby
  $ printf 'build is green\\nshipping now\\n' | conclave chat lobby     # sends two lines, exits`,
      ),
  ).action(async (ref: string, o: ClientOpts & { history: string }) => {
    const history = wholeNumber('--history', o.history, 0, 1_000);
    const target = await resolveTarget(o);
    const room = await forRoom(ref, () => findRoom(target, ref));
    if (!room.joined)
      throw new AppError(
        'ERR_NOT_MEMBER',
        room.state === 'pending'
          ? `the owner of "${room.name}" has not approved you yet; "conclave room list" shows when you are in`
          : `you are not in room "${room.name}"; join it first: conclave room join ${shellWord(ref)}`,
      );
    const [me, trust, members] = await forRoom(ref, () =>
      Promise.all([
        apiJson<{ peerId: string; name: string }>(target, 'GET', '/api/info'),
        trustByPeer(target),
        apiJson<MemberView[]>(target, 'GET', roomPath(room.roomId, '/members')),
      ]),
    );
    await runChat({
      target,
      room,
      self: me.peerId,
      screen: createChatScreen(`${printable(room.name)}> `),
      json: o.json,
      trust,
      members,
      history,
    });
  });
}

async function runChat(chat: Chat & { history: number }): Promise<void> {
  const { target, room, screen } = chat;
  const ac = new AbortController();
  let failure: Error | undefined;
  let sending: Promise<void> = Promise.resolve();
  let finishing: Promise<void> | undefined;

  const feed = createRoomFeed({
    target,
    roomId: room.roomId,
    after: Math.max(0, (room.seq ?? 0) - chat.history),
    signal: ac.signal,
    onMessage: (m) =>
      screen.say(
        formatMessage(m, m.sender === chat.self ? '' : trustBadge(chat.trust.get(m.sender))),
      ),
    onEvent: (e) => onFeedEvent(e),
    onError: (err) => {
      const e = explain(err, room.name);
      if (e instanceof AppError && e.code === 'ERR_NOT_MEMBER') void end(e);
      else notice(chat, `⚠ ${e.message}`);
    },
    onDrop: (reason) => notice(chat, `lost the connection to the peer (${reason}); reconnecting…`),
  });

  function end(err?: Error): Promise<void> {
    if (err !== undefined && failure === undefined) failure = err;
    finishing ??= (async () => {
      screen.close();
      await sending;
      // Our last lines are sequenced by now; give them a moment to come back and be printed.
      await Promise.race([feed.idle(), new Promise((r) => setTimeout(r, DRAIN_MS).unref())]);
      ac.abort();
    })();
    return finishing;
  }

  function onFeedEvent(e: FeedEvent): void {
    const d = e.data;
    if (e.event === 'peer' && d.change === 'trust' && typeof d.peerId === 'string') {
      chat.trust.set(d.peerId, typeof d.trust === 'string' ? d.trust : null);
      return;
    }
    if (d.roomId !== room.roomId) return;
    if (e.event === 'rotation') {
      notice(chat, `room key renewed (epoch ${String(d.epoch)})`);
      return;
    }
    if (e.event !== 'room') return;
    switch (d.change) {
      case 'members':
      case 'joined':
        void refreshMembers(chat).catch(() => undefined);
        return;
      case 'request': {
        const id = String(d.peerId).slice(0, 8);
        notice(
          chat,
          `${printable(String(d.peerName))} (${id}) asks to join — conclave room approve ${shellWord(room.name)} ${id}`,
        );
        return;
      }
      case 'history-skipped':
        notice(chat, skippedNotice(d));
        return;
      case 'left':
        notice(chat, `you left "${room.name}"`);
        void end();
        return;
      case 'kicked':
      case 'banned':
      case 'deleted':
        void end(
          new AppError(
            'ERR_NOT_MEMBER',
            d.change === 'deleted'
              ? `room "${room.name}" was deleted by its host`
              : `you were removed from room "${room.name}" (${d.change})`,
          ),
        );
    }
  }

  function send(text: string): void {
    const id = randomBytes(12).toString('base64url');
    sending = sending.then(async () => {
      try {
        const r = await apiJson<{ seq: number }>(
          target,
          'POST',
          roomPath(room.roomId, '/messages'),
          {
            text,
            id,
          },
        );
        if (r.seq > feed.lastSeq) await feed.catchUp();
      } catch (err) {
        const e = explain(err, room.name);
        notice(chat, `⚠ not sent: ${e.message} — your text: ${printable(text)}`);
      }
    });
  }

  async function command(cmd: string): Promise<void> {
    switch (cmd.split(/\s+/)[0]) {
      case '/help':
        screen.say(HELP.join('\n'));
        return;
      case '/members':
      case '/who':
        await showMembers(chat);
        return;
      case '/leave':
        await sending;
        await apiJson<undefined>(target, 'POST', roomPath(room.roomId, '/leave'));
        notice(chat, `you left "${room.name}"`);
        await end();
        return;
      case '/quit':
      case '/exit':
        await end();
        return;
      default:
        screen.say(`unknown command ${cmd}; /help lists them`);
    }
  }

  screen.rl.on('line', (line) => {
    const text = line.replace(/\s+$/, '');
    if (text.trim() === '') return screen.prompt();
    if (text.startsWith('/') && !text.startsWith('//')) {
      command(text.trim()).catch((err: unknown) =>
        notice(chat, `⚠ ${explain(err, room.name).message}`),
      );
      return;
    }
    screen.eraseSubmitted(line);
    send(text.startsWith('//') ? text.slice(1) : text);
  });
  screen.rl.on('close', () => void end());
  screen.rl.on('SIGINT', () => void end());
  const onSignal = (): void => void end();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  if (screen.isTty)
    notice(
      chat,
      `${room.name} · ${chat.members.length} members · /help for commands, Ctrl-D to quit`,
    );
  try {
    await feed.run();
  } catch (err) {
    await end(explain(err, room.name));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  await finishing;
  if (failure !== undefined) throw failure;
}
