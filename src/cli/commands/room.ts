/**
 * `conclave room …`: create, list, join, leave and invite (this file); members, kick, approve and
 * rotate (`room-admin.ts`); join (`room-join.ts`).
 */
import { Option, type Command } from 'commander';
import { AppError } from '../../errors.js';
import { apiJson, resolveTarget } from '../api-client.js';
import { clientOptions, type ClientOpts } from '../client-options.js';
import { printJson, printLine } from '../output.js';
import { registerRoomAdminCommands } from './room-admin.js';
import {
  findRoom,
  forRoom,
  passwordOption,
  postToRoom,
  roomPath,
  shellWord,
  wholeNumber,
  withProgress,
  type RoomView,
} from './room-client.js';
import { formatRooms } from './room-format.js';
import { registerRoomJoinCommand } from './room-join.js';

interface CreateOpts extends ClientOpts {
  policy?: 'open' | 'password' | 'invite' | 'approval';
  password?: string;
  capacity?: string;
  topic?: string;
  cbc?: boolean;
  rotateEvery?: string;
  rotateMinutes?: string;
  keepEpochs?: string;
}

function nextStep(r: RoomView): string {
  const name = shellWord(r.name);
  switch (r.policy) {
    case 'open':
      return `Peers on the LAN see it in "conclave room list" and join with: conclave room join ${name}`;
    case 'password':
      return `Tell people the password out of band; they join with: conclave room join ${name} --password …`;
    case 'invite':
      return `Make a code for each person: conclave room invite ${name}`;
    case 'approval':
      return `Others ask with "conclave room join ${name}"; you let them in with: conclave room approve ${name} PEER_ID`;
  }
}

function registerCreate(room: Command): void {
  clientOptions(
    room
      .command('create')
      .summary('create and host a room on this peer')
      .argument('<name>', 'a name (1–64 characters) others will see')
      .addOption(
        new Option(
          '--policy <policy>',
          'who may join (default: open, or password with --password)',
        ).choices(['open', 'password', 'invite', 'approval']),
      )
      .option('--password <password>', 'the room password (- reads it from stdin)')
      .option('--capacity <n>', 'at most this many members (2–5000)')
      .option('--topic <text>', 'a line describing the room')
      .option('--cbc', 'encrypt with AES-256-CBC + HMAC-SHA-256 instead of AES-256-GCM')
      .option('--rotate-every <n>', 'renew the room key after this many messages')
      .option('--rotate-minutes <m>', 'renew the room key after this many minutes')
      .option(
        '--keep-epochs <k>',
        'past room keys kept to read late and old messages (default 2; older ones are destroyed)',
      )
      .addHelpText(
        'after',
        `
Policies: open (anyone who finds it), password (anyone with the password), invite (a single-use
code from "conclave room invite"), approval (the owner approves each request).

Examples:
  $ conclave room create lobby
  $ conclave room create team --policy invite --capacity 12 --topic "release planning"
  $ conclave room create ops --policy password --password -   # reads the password from stdin
  $ conclave room create door --policy approval
  $ conclave room create vault --policy invite --rotate-every 500 --rotate-minutes 60

The room key also renews whenever a member leaves or is removed.`,
      ),
  ).action(async (name: string, o: CreateOpts) => {
    const password = await passwordOption(o.password);
    if (o.policy === 'password' && password === undefined)
      throw new AppError('ERR_INVALID_ARGUMENT', '--policy password needs --password P');
    if (password !== undefined && o.policy !== undefined && o.policy !== 'password')
      throw new AppError(
        'ERR_INVALID_ARGUMENT',
        `--password goes with --policy password, not ${o.policy}`,
      );
    const capacity =
      o.capacity === undefined ? undefined : wholeNumber('--capacity', o.capacity, 2, 5_000);
    const rotateEveryMessages =
      o.rotateEvery === undefined
        ? undefined
        : wholeNumber('--rotate-every', o.rotateEvery, 1, 1_000_000);
    const rotateEveryMinutes =
      o.rotateMinutes === undefined
        ? undefined
        : wholeNumber('--rotate-minutes', o.rotateMinutes, 1, 525_600);
    const keepEpochs =
      o.keepEpochs === undefined ? undefined : wholeNumber('--keep-epochs', o.keepEpochs, 0, 100);
    const target = await resolveTarget(o);
    const r = await apiJson<RoomView>(target, 'POST', '/api/rooms', {
      name,
      ...(o.policy !== undefined ? { policy: o.policy } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(capacity !== undefined ? { capacity } : {}),
      ...(o.topic !== undefined ? { topic: o.topic } : {}),
      ...(o.cbc ? { suite: 'aes-256-cbc-hmac-sha256' } : {}),
      ...(rotateEveryMessages !== undefined ? { rotateEveryMessages } : {}),
      ...(rotateEveryMinutes !== undefined ? { rotateEveryMinutes } : {}),
      ...(keepEpochs !== undefined ? { keepEpochs } : {}),
    });
    if (o.json) {
      printJson(r);
      return;
    }
    printLine(
      `created room "${r.name}" (id ${r.roomId}): policy ${r.policy}, capacity ${r.capacity ?? '-'}, ${r.suite ?? ''}`,
    );
    printLine(nextStep(r));
  });
}

function registerList(room: Command): void {
  clientOptions(
    room
      .command('list')
      .summary('rooms this peer hosts or joined, and rooms discovered on the LAN')
      .addHelpText(
        'after',
        `
STATUS: hosted (this peer is the host), joined, awaiting approval, discovered (advertised on the
LAN, not joined), left, deleted. Requests waiting for your approval are listed under the table.

Examples:
  $ conclave room list
  $ conclave room list --json`,
      ),
  ).action(async (o: ClientOpts) => {
    const rooms = await apiJson<RoomView[]>(await resolveTarget(o), 'GET', '/api/rooms');
    if (o.json) printJson(rooms);
    else printLine(formatRooms(rooms));
  });
}

function registerLeave(room: Command): void {
  clientOptions(
    room
      .command('leave')
      .summary('leave a room (a room you host is closed for everyone)')
      .argument('<room>', 'room name or id')
      .addHelpText(
        'after',
        `
Leaving renews the room key, so you cannot read what is said after. If this peer hosts the room,
leaving deletes it and removes every member. If you are still waiting for the owner's approval,
leaving withdraws your request.

Example:
  $ conclave room leave lobby`,
      ),
  ).action(async (ref: string, o: ClientOpts) => {
    const target = await resolveTarget(o);
    const r = await forRoom(ref, () => findRoom(target, ref));
    await forRoom(ref, () =>
      withProgress(`leaving ${r.name}`, () =>
        apiJson<undefined>(target, 'POST', roomPath(r.roomId, '/leave')),
      ),
    );
    const hosted = r.role === 'owner';
    if (o.json) printJson({ roomId: r.roomId, name: r.name, left: true, deleted: hosted });
    else
      printLine(
        hosted
          ? `deleted room "${r.name}" (this peer hosted it; its members were removed)`
          : `left room "${r.name}"`,
      );
  });
}

function registerInvite(room: Command): void {
  clientOptions(
    room
      .command('invite')
      .summary('make a single-use invite code for a room')
      .argument('<room>', 'room name or id')
      .addHelpText(
        'after',
        `
The code names the room, its host and where to reach it, plus a secret that lets one peer in.
Send it over a channel you trust; it works once and expires.

Examples:
  $ conclave room invite lobby
  $ conclave room invite lobby --json | jq -r .code`,
      ),
  ).action(async (ref: string, o: ClientOpts) => {
    const r = await postToRoom<{ code: string; expiresAt: string }>(o, ref, '/invites');
    if (o.json) {
      printJson(r);
      return;
    }
    printLine(r.code);
    printLine(`single use, valid until ${new Date(r.expiresAt).toLocaleString()}`);
    printLine(`The other person joins with: conclave room join --invite ${r.code}`);
  });
}

export function registerRoomCommands(program: Command): void {
  const room = program
    .command('room')
    .summary('create, join and manage end-to-end encrypted rooms')
    .addHelpText(
      'after',
      `
ROOM is a room id or a unique room name; PEER_ID is a peer id or a unique prefix of it.

Examples:
  $ conclave room create lobby --policy invite
  $ conclave room invite lobby                        # prints a code for one person
  $ conclave room join --invite cv1.eyJ2Ijox…         # on their peer
  $ conclave send lobby hello
  $ conclave chat lobby`,
    );
  registerCreate(room);
  registerList(room);
  registerRoomJoinCommand(room);
  registerLeave(room);
  registerInvite(room);
  registerRoomAdminCommands(room);
}
