/**
 * What the room commands share: the API shapes, finding a room by id or name, turning the
 * runtime's error codes into one line that says what to do next, and progress on a terminal.
 */
import type { MessageView } from '../../actors/rooms/rooms-core.js';
import type { MemberView, RoomView } from '../../actors/rooms/rooms.js';
import type { PeerView } from '../../actors/peer-directory.js';
import { AppError, type ErrorCode } from '../../errors.js';
import { apiJson, resolveTarget, type ApiTarget, type TargetOptions } from '../api-client.js';

export type { MemberView, MessageView, PeerView, RoomView };

/** `/api/rooms/<roomId><rest>`, with the room reference escaped. */
export function roomPath(room: string, rest = ''): string {
  return `/api/rooms/${encodeURIComponent(room)}${rest}`;
}

/**
 * A room this peer holds (hosted, joined, waiting or left): by exact id, unique name, or unique id
 * prefix. Commands that follow a room need its id: the event feed names rooms by id only.
 */
export async function findRoom(target: ApiTarget, ref: string): Promise<RoomView> {
  const rooms = (await apiJson<RoomView[]>(target, 'GET', '/api/rooms')).filter(
    (r) => r.state !== 'discovered',
  );
  const exact = rooms.find((r) => r.roomId === ref);
  if (exact) return exact;
  const live = rooms.filter((r) => r.state !== 'deleted');
  const byName = live.filter((r) => r.name === ref);
  const byPrefix = ref.length >= 4 ? live.filter((r) => r.roomId.startsWith(ref)) : [];
  const found = byName.length > 0 ? byName : byPrefix;
  if (found.length === 1) return found[0] as RoomView;
  if (found.length > 1)
    throw new AppError(
      'ERR_AMBIGUOUS',
      `${found.length} rooms match "${ref}" (${found.map((r) => r.roomId).join(', ')}); use the room id`,
    );
  throw new AppError(
    'ERR_NOT_FOUND',
    `no room "${ref}" on this peer; see "conclave room list", or join one with "conclave room join"`,
  );
}

type Hint = (room: string, detail: string) => string;

/** A room name as a shell word, for the commands the hints suggest. */
export function shellWord(s: string): string {
  return /^[\w.:@%+=,/-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const HINTS: Readonly<Partial<Record<ErrorCode, Hint>>> = {
  ERR_WRONG_PASSWORD: (r) => `wrong password for room "${r}"; ask the owner`,
  ERR_INVITE_USED: (r) =>
    `this invite code for room "${r}" was already used (or is not valid there); ask a member for a new one`,
  ERR_INVITE_EXPIRED: (r) =>
    `this invite code for room "${r}" has expired; ask a member for a new one`,
  ERR_INVITE_INVALID: (r, d) =>
    d.startsWith('not an invite code')
      ? `${d}; copy the whole code (it starts with "cv1.")`
      : `room "${r}" is invite-only; ask a member for a code, then: conclave room join --invite CODE`,
  ERR_NOT_MEMBER: (r) =>
    `you are not in room "${r}"; join it first: conclave room join ${shellWord(r)}`,
  ERR_BANNED: (r) => `you are banned from room "${r}"`,
  ERR_FORBIDDEN: (r, d) => `${d.replace(/\.$/, '')} (room "${r}"); ask the owner`,
  ERR_ROOM_FULL: (r, d) => `room "${r}": ${d}`,
  ERR_PEER_UNREACHABLE: (r, d) =>
    `cannot reach the host of room "${r}" (${d}); is its peer running and reachable from here?`,
  ERR_MISSING_KEY: (r, d) => `room "${r}": ${d}`,
  ERR_NOT_VERIFIED: (r, d) => `room "${r}": ${d}`,
};

/** The error again, its message rewritten to name the room and what to do next. */
export function explain(err: unknown, room: string): Error {
  if (!(err instanceof AppError)) return err instanceof Error ? err : new Error(String(err));
  const hint = HINTS[err.code];
  return hint === undefined ? err : new AppError(err.code, hint(room, err.message), { cause: err });
}

/** Run `work`; a failure comes back explained for `room`. */
export async function forRoom<T>(room: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw explain(err, room);
  }
}

/** POST to a room route of the peer `o` names; a failure comes back explained for the room. */
export function postToRoom<T>(
  o: TargetOptions,
  ref: string,
  rest: string,
  body: unknown = {},
): Promise<T> {
  return forRoom(ref, async () =>
    apiJson<T>(await resolveTarget(o), 'POST', roomPath(ref, rest), body),
  );
}

/**
 * Show "what is happening" on stderr while `work` runs, and erase it after. Only on a terminal:
 * in scripts and logs stderr is for the one-line error.
 */
export async function withProgress<T>(text: string, work: () => Promise<T>): Promise<T> {
  const tty = process.stderr.isTTY;
  if (tty) process.stderr.write(`${text}…`);
  try {
    return await work();
  } finally {
    if (tty) process.stderr.write('\r\x1b[K');
  }
}

/** All of stdin as text (for `-` arguments). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `--password -` reads it from stdin (so it stays out of shell history and `ps`). */
export async function passwordOption(p: string | undefined): Promise<string | undefined> {
  if (p !== '-') return p;
  const line = (await readStdin()).split(/\r?\n/)[0] ?? '';
  if (line === '') throw new AppError('ERR_INVALID_ARGUMENT', '--password -: stdin was empty');
  return line;
}

export function wholeNumber(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new AppError(
      'ERR_INVALID_ARGUMENT',
      `${name} must be a whole number from ${min} to ${max}`,
    );
  return n;
}

/** Trust by peer id, from `GET /api/peers`. */
export async function trustByPeer(target: ApiTarget): Promise<Map<string, string | null>> {
  const peers = await apiJson<PeerView[]>(target, 'GET', '/api/peers');
  return new Map(peers.map((p) => [p.peerId, p.trust]));
}
