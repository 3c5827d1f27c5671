/** `conclave room join`: by name or id (discovered or known rooms), password, or invite code. */
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { decodeInvite } from '../../protocol/room.codec.js';
import { apiJson, resolveTarget, type ApiTarget } from '../api-client.js';
import { clientOptions, type ClientOpts } from '../client-options.js';
import { printJson, printLine } from '../output.js';
import { followEvents } from './event-stream.js';
import {
  forRoom,
  passwordOption,
  roomPath,
  shellWord,
  withProgress,
  type RoomView,
} from './room-client.js';

interface JoinOpts extends ClientOpts {
  password?: string;
  invite?: string;
  wait?: boolean;
}

type Joined = RoomView & { awaitingApproval?: boolean };

/** Wait until the host admits us (`room` event `joined`), or turns us away. */
async function awaitApproval(target: ApiTarget, room: Joined): Promise<RoomView> {
  const ac = new AbortController();
  let outcome: RoomView | AppError | undefined;
  const check = async (): Promise<void> => {
    const rooms = await apiJson<RoomView[]>(target, 'GET', '/api/rooms');
    const now = rooms.find((r) => r.roomId === room.roomId && r.state !== 'discovered');
    if (now?.joined) outcome = now;
    else if (now && now.state !== 'pending')
      outcome = new AppError(
        'ERR_FORBIDDEN',
        `the owner of "${room.name}" turned the request down`,
      );
    if (outcome !== undefined) ac.abort();
  };
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  try {
    await followEvents({
      target,
      signal: ac.signal,
      // Approval may have come before the stream opened: look once it is.
      onOpen: () => void check().catch(() => undefined),
      onEvent: (e) => {
        if (e.event === 'room' && e.data.roomId === room.roomId && e.data.change !== 'pending')
          void check().catch(() => undefined);
      },
    });
  } finally {
    process.off('SIGINT', stop);
  }
  if (outcome instanceof AppError) throw outcome;
  if (outcome === undefined)
    throw new AppError('ERR_TIMEOUT', `stopped waiting; the request to "${room.name}" stays open`);
  return outcome;
}

export function registerRoomJoinCommand(room: Command): void {
  clientOptions(
    room
      .command('join')
      .summary('join a room: discovered on the LAN, with a password, or with an invite code')
      .argument('[room]', 'room name or id (may be left out, or "-", with --invite)')
      .option('--password <password>', 'the room password (- reads it from stdin)')
      .option('--invite <code>', 'an invite code from "conclave room invite" (starts with cv1.)')
      .option('--wait', 'for a room that needs approval: wait until the owner lets you in')
      .addHelpText(
        'after',
        `
Joining contacts the room host (a handshake first, if there is no session yet). A room with the
approval policy answers "waiting for approval" until its owner runs "conclave room approve".

Examples:
  $ conclave room join lobby                        # an open room seen in "conclave room list"
  $ conclave room join ops --password -             # reads the password from stdin
  $ conclave room join --invite cv1.eyJ2Ijox…
  $ conclave room join door --wait                  # blocks until the owner approves`,
      ),
  ).action(async (ref: string | undefined, o: JoinOpts) => {
    if (o.password !== undefined && o.invite !== undefined)
      throw new AppError('ERR_INVALID_ARGUMENT', 'use either --password or --invite, not both');
    if (ref === undefined && o.invite === undefined)
      throw new AppError(
        'ERR_INVALID_ARGUMENT',
        'name the ROOM to join (see "conclave room list") or pass --invite CODE',
      );
    const password = await passwordOption(o.password);
    const invite = o.invite === undefined ? undefined : decodeInvite(o.invite);
    if (invite?.ok === false)
      throw new AppError(
        'ERR_INVITE_INVALID',
        `not an invite code: ${invite.error.detail} (copy the whole code "conclave room invite" printed)`,
      );
    const label = invite?.ok ? invite.value.roomName : (ref ?? '-');
    const target = await resolveTarget(o);
    let r = await forRoom(label, () =>
      withProgress(`joining ${label}`, () =>
        apiJson<Joined>(target, 'POST', roomPath(ref ?? '-', '/join'), {
          ...(password !== undefined ? { password } : {}),
          ...(o.invite !== undefined ? { invite: o.invite.trim() } : {}),
        }),
      ),
    );
    if (r.awaitingApproval === true && o.wait) {
      if (!o.json) printLine(`waiting for the owner of "${r.name}" to approve… (Ctrl-C stops)`);
      r = await awaitApproval(target, r);
    }
    if (o.json) {
      printJson(r);
      return;
    }
    const name = shellWord(r.name);
    if (r.awaitingApproval === true) {
      const me = await apiJson<{ peerId: string }>(target, 'GET', '/api/info');
      printLine(`waiting for approval: asked to join "${r.name}" (host ${r.hostName})`);
      printLine(
        `The owner lets you in with: conclave room approve ${name} ${me.peerId.slice(0, 12)}` +
          ` — then "conclave room list" shows it joined (or use --wait)`,
      );
      return;
    }
    printLine(
      `joined "${r.name}" (id ${r.roomId}, host ${r.hostName}): ${r.members ?? '?'} members, key epoch ${r.epoch ?? '?'}`,
    );
    printLine(`Read with: conclave read ${name} · talk with: conclave chat ${name}`);
  });
}
