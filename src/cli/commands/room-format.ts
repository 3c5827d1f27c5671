/**
 * Human output of the room commands: tables of rooms and members, and one message per line.
 * Everything another peer chose (names, text) passes through `printable` first, so a message
 * cannot move the cursor, recolour or retitle your terminal.
 */
import { formatTable } from '../format.js';
import type { MemberView, MessageView, RoomView } from './room-client.js';
import { shellWord } from './room-client.js';

// eslint-disable-next-line no-control-regex -- removing terminal control sequences is the point
const CSI = /\x1b\[[0-?]*[ -/]*[@-~]/g;
// eslint-disable-next-line no-control-regex -- every control character but tab and newline
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** Text without terminal control sequences; newlines become spaces unless `keepNewlines`. */
export function printable(text: string, keepNewlines = false): string {
  const s = text.replace(CSI, '').replace(/\r\n?/g, '\n').replace(CONTROL, '');
  return keepNewlines ? s : s.replace(/\n/g, ' ');
}

const TRUST: Readonly<Record<string, string>> = {
  verified: '✔ verified',
  unverified: '? unverified',
  blocked: '✖ blocked',
};

/** The trust badge of a peer: ✔ verified, ? unverified (or never pinned), ✖ blocked. */
export function trustBadge(trust: string | null | undefined, long = false): string {
  const t = TRUST[trust ?? ''] ?? '? unverified';
  return long ? t : t.slice(0, 1);
}

function roomStatus(r: RoomView): string {
  if (r.state === 'discovered') return 'discovered';
  if (r.state === 'pending') return 'awaiting approval';
  if (r.state === 'active') return r.role === 'owner' ? 'hosted' : 'joined';
  return r.state;
}

export function formatRooms(rooms: readonly RoomView[]): string {
  if (rooms.length === 0) {
    return (
      'no rooms yet — create one with "conclave room create NAME", or join one with\n' +
      '"conclave room join --invite CODE" (rooms hosted on the LAN appear here when discovered)'
    );
  }
  const rows = rooms.map((r) => [
    printable(r.name),
    r.roomId,
    roomStatus(r),
    r.role ?? '-',
    r.policy,
    r.members === null ? '-' : `${r.members}/${r.capacity ?? '?'}`,
    r.epoch === null ? '-' : String(r.epoch),
    `${printable(r.hostName)} (${r.host.slice(0, 8)})`,
  ]);
  const table = formatTable(
    ['NAME', 'ROOM ID', 'STATUS', 'ROLE', 'POLICY', 'MEMBERS', 'EPOCH', 'HOST'],
    rows,
  );
  const requests = rooms.flatMap((r) =>
    (r.pending ?? []).map(
      (p) =>
        `${printable(r.name)}: ${printable(p.name)} (${p.peerId.slice(0, 8)}) asks to join — ` +
        `conclave room approve ${shellWord(r.name)} ${p.peerId.slice(0, 8)}`,
    ),
  );
  return requests.length === 0 ? table : `${table}\n\n${requests.join('\n')}`;
}

export function formatMembers(
  members: readonly MemberView[],
  trust: ReadonlyMap<string, string | null>,
  self: string,
): string {
  const rows = members.map((m) => [
    m.peerId === self ? '· you' : trustBadge(trust.get(m.peerId), true),
    printable(m.name),
    m.peerId.slice(0, 12),
    m.role,
    m.online ? 'online' : 'offline',
  ]);
  return formatTable(['TRUST', 'NAME', 'PEER', 'ROLE', 'LINK'], rows);
}

function clock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '--:--';
  const two = (n: number): string => String(n).padStart(2, '0');
  const time = `${two(d.getHours())}:${two(d.getMinutes())}`;
  const today = new Date().toDateString() === d.toDateString();
  return today ? time : `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${time}`;
}

/**
 * `[seq] time name: text`; a message this peer cannot read shows `⚠ CODE: why` instead of text.
 * Lines after the first of a multi-line message are indented under the text.
 */
export function formatMessage(m: MessageView, badge = ''): string {
  const name = printable(m.senderName ?? m.sender.slice(0, 8));
  const head = `[${m.seq}] ${clock(m.sentAt)} ${name}${badge ? ` ${badge}` : ''}: `;
  if (m.text === null)
    return `${head}⚠ ${m.error?.code ?? 'ERR_DECRYPT_FAILED'}: ${m.error?.detail ?? 'no text'}`;
  const [first = '', ...rest] = printable(m.text, true).split('\n');
  return [head + first, ...rest.map((l) => ' '.repeat(head.length) + l)].join('\n');
}

/**
 * The line for a `history-skipped` room event: this peer was further behind than its host's
 * history window, so messages `from…through` are not here (they were never received).
 *
 * @example
 * skippedNotice({ from: 12, through: 4_000 }); // "messages 12–4000 are no longer held by the host…"
 */
export function skippedNotice(d: Readonly<Record<string, unknown>>): string {
  const from = Number(d.from);
  const through = Number(d.through);
  const one = from === through;
  const span = one ? `message ${from} is` : `messages ${from}–${through} are`;
  return `${span} no longer held by the host (this peer was away longer than its history window) and ${one ? 'was' : 'were'} skipped`;
}
