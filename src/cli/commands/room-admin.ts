/** `conclave room members | kick | approve | rotate`: who is in a room, and the owner's tools. */
import type { Command } from 'commander';
import { apiJson, resolveTarget } from '../api-client.js';
import { clientOptions, type ClientOpts } from '../client-options.js';
import { printJson, printLine } from '../output.js';
import {
  forRoom,
  postToRoom,
  roomPath,
  trustByPeer,
  withProgress,
  type MemberView,
} from './room-client.js';
import { formatMembers, printable } from './room-format.js';

const PEER_ARG = 'peer id or a unique prefix (4+ hex digits)';

function registerMembers(room: Command): void {
  clientOptions(
    room
      .command('members')
      .summary('who is in a room: name, role, trust and whether their link is up')
      .argument('<room>', 'room name or id')
      .addHelpText(
        'after',
        `
TRUST: ✔ verified (you checked their fingerprint), ? unverified (trusted on first use, or not
yet met), ✖ blocked. Verify someone with "conclave verify PEER_ID" after comparing fingerprints.

Examples:
  $ conclave room members lobby
  $ conclave room members lobby --json`,
      ),
  ).action(async (ref: string, o: ClientOpts) => {
    const target = await resolveTarget(o);
    const [members, trust, me] = await forRoom(ref, () =>
      Promise.all([
        apiJson<MemberView[]>(target, 'GET', roomPath(ref, '/members')),
        trustByPeer(target),
        apiJson<{ peerId: string }>(target, 'GET', '/api/info'),
      ]),
    );
    if (o.json)
      printJson(
        members.map((m) => ({
          ...m,
          trust: m.peerId === me.peerId ? 'self' : (trust.get(m.peerId) ?? null),
        })),
      );
    else printLine(formatMembers(members, trust, me.peerId));
  });
}

function registerKick(room: Command): void {
  clientOptions(
    room
      .command('kick')
      .summary('remove a member from a room (--ban: and keep them out); renews the room key')
      .argument('<room>', 'room name or id')
      .argument('<peer-id>', PEER_ARG)
      .option('--ban', 'also refuse any later join by this peer')
      .addHelpText(
        'after',
        `
Only the owner or an admin can remove members. The room key is renewed at once, so the removed
peer cannot read anything said afterwards.

Examples:
  $ conclave room kick lobby 3f9a1c
  $ conclave room kick lobby 3f9a1c --ban`,
      ),
  ).action(async (ref: string, peer: string, o: ClientOpts & { ban?: boolean }) => {
    const target = await resolveTarget(o);
    const before = await forRoom(ref, () =>
      apiJson<MemberView[]>(target, 'GET', roomPath(ref, '/members')),
    );
    const who = before.find((m) => m.peerId.startsWith(peer.toLowerCase()));
    await forRoom(ref, () =>
      withProgress(`removing ${peer} from ${ref}`, () =>
        apiJson<undefined>(
          target,
          'DELETE',
          roomPath(ref, `/members/${encodeURIComponent(peer)}${o.ban ? '?ban=true' : ''}`),
        ),
      ),
    );
    const label = who ? `${printable(who.name)} (${who.peerId.slice(0, 12)})` : peer;
    if (o.json) printJson({ removed: who?.peerId ?? peer, banned: o.ban === true });
    else
      printLine(
        `removed ${label} from "${ref}"${o.ban ? ' and banned them' : ''}; the room key was renewed`,
      );
  });
}

function registerApprove(room: Command): void {
  clientOptions(
    room
      .command('approve')
      .summary('let in a peer waiting to join a room with the approval policy')
      .argument('<room>', 'room name or id')
      .argument('<peer-id>', PEER_ARG)
      .addHelpText(
        'after',
        `
Waiting requests are listed under "conclave room list" (with the command to approve each).

Example:
  $ conclave room approve door 3f9a1c`,
      ),
  ).action(async (ref: string, peer: string, o: ClientOpts) => {
    const r = await postToRoom<{ approved?: string }>(
      o,
      ref,
      `/requests/${encodeURIComponent(peer)}/approve`,
    );
    if (o.json) printJson(r);
    else printLine(`approved ${(r.approved ?? peer).slice(0, 12)}: they are in "${ref}" now`);
  });
}

function registerRotate(room: Command): void {
  clientOptions(
    room
      .command('rotate')
      .summary('renew the room key now (only the host)')
      .argument('<room>', 'room name or id')
      .addHelpText(
        'after',
        `
Each member gets the new key sealed to them; messages from then on use it. Keys also renew
automatically whenever someone leaves or is removed.

Example:
  $ conclave room rotate lobby`,
      ),
  ).action(async (ref: string, o: ClientOpts) => {
    const r = await postToRoom<{ epoch: number; state: string; acked?: number; total?: number }>(
      o,
      ref,
      '/rotate',
    );
    if (o.json) printJson(r);
    else if (r.state === 'committed')
      printLine(`room key renewed: "${ref}" is at epoch ${r.epoch}`);
    else
      printLine(
        `renewing the room key of "${ref}" (epoch ${r.epoch}, ${r.state}: ${r.acked ?? 0} of ${r.total ?? '?'} members have it; the rest get it when they answer or return)`,
      );
  });
}

function registerRole(room: Command): void {
  clientOptions(
    room
      .command('role')
      .summary('make a member an admin (may invite, kick and approve) or a plain member again')
      .argument('<room>', 'room name or id')
      .argument('<peer-id>', PEER_ARG)
      .argument('<role>', 'admin or member')
      .addHelpText(
        'after',
        `
Only the owner changes roles. Admins can invite, approve and kick members (not other admins).

Example:
  $ conclave room role lobby 3f9a1c admin`,
      ),
  ).action(async (ref: string, peer: string, role: string, o: ClientOpts) => {
    const r = await postToRoom<{ peerId: string; role: string }>(
      o,
      ref,
      `/members/${encodeURIComponent(peer)}/role`,
      { role },
    );
    if (o.json) printJson(r);
    else printLine(`${r.peerId.slice(0, 12)} is now ${r.role} in "${ref}"`);
  });
}

export function registerRoomAdminCommands(room: Command): void {
  registerMembers(room);
  registerKick(room);
  registerApprove(room);
  registerRole(room);
  registerRotate(room);
}
