import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { repoRoot } from '../support/paths.js';
import {
  cliArgs,
  runCli,
  testPeers,
  uniqueMulticastGroup,
  type TestPeer,
} from '../support/peer-process.js';

const lab = testPeers();
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await lab.cleanup();
});

const WAIT = { timeout: 20_000, interval: 200 };

/** Peers on loopback only; `extra` e.g. adds a multicast group for discovery. */
const peer = (name: string, extra: string[] = ['--no-discovery']): Promise<TestPeer> =>
  lab.start(name, ['--host', '127.0.0.1', ...extra]);

const cli = (p: TestPeer, ...args: string[]) => runCli([...args, '--data-dir', p.dir]);

/** A long-running CLI command (read --follow, chat) whose output we watch and whose stdin we feed. */
function spawnCli(p: TestPeer, ...args: string[]) {
  const child = spawn(process.execPath, cliArgs([...args, '--data-dir', p.dir]), {
    cwd: repoRoot,
    env: process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { child, exited, out: () => out, err: () => err };
}

async function ok(p: TestPeer, ...args: string[]): Promise<string> {
  const r = await cli(p, ...args);
  expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Fails with exactly one stderr line, which names the code and contains `text`. */
async function failsWith(p: TestPeer, code: string, text: string, ...args: string[]) {
  const r = await cli(p, ...args);
  expect(r.code, r.stdout).not.toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toContain(`[${code}]`);
  expect(lines[0]).toContain(text);
}

describe('room commands between real peers', () => {
  it('creates, invites, joins, talks both ways, reads, follows, chats, lists members and kicks', async () => {
    const [a, b] = await Promise.all([peer('alice'), peer('bob')]);
    const created = JSON.parse(
      await ok(a, 'room', 'create', 'lobby', '--policy', 'invite', '--json'),
    );
    expect(created).toMatchObject({ name: 'lobby', policy: 'invite', role: 'owner', joined: true });

    const invite = await ok(a, 'room', 'invite', 'lobby');
    const code = invite.split('\n')[0]!;
    expect(code).toMatch(/^cv1\./);
    expect(invite).toContain('valid until');
    expect(invite).toContain(`conclave room join --invite ${code}`);

    expect(await ok(b, 'room', 'join', '--invite', code)).toContain('joined "lobby"');
    expect(await ok(b, 'send', 'lobby', 'hello', 'from', 'bob')).toMatch(/^sent #1 to lobby/);
    expect(await ok(a, 'send', 'lobby', 'hi bob')).toMatch(/^sent #2 to lobby/);

    await vi.waitFor(async () => {
      expect(await ok(b, 'read', 'lobby')).toMatch(
        /^\[1\] \d\d:\d\d bob: hello from bob\n\[2\] \d\d:\d\d alice: hi bob\n$/,
      );
    }, WAIT);
    const lines = (await ok(a, 'read', 'lobby', '--json')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ seq: 1, senderName: 'bob', text: 'hello from bob', epoch: 1 }),
      expect.objectContaining({
        seq: 2,
        senderName: 'alice',
        text: 'hi bob',
        roomId: created.roomId,
      }),
    ]);
    expect(await ok(a, 'read', 'lobby', '--after', '1')).toMatch(/^\[2\] .* alice: hi bob\n$/);

    // read --follow: history first, then a message sent while it runs; Ctrl-C ends it cleanly
    const follow = spawnCli(a, 'read', 'lobby', '--follow');
    await vi.waitFor(() => expect(follow.out()).toContain('alice: hi bob'), WAIT);
    await ok(b, 'send', 'lobby', 'while you follow');
    await vi.waitFor(() => expect(follow.out()).toMatch(/\[3\] .* bob: while you follow\n/), WAIT);
    follow.child.kill('SIGINT');
    expect(await follow.exited).toBe(0);
    expect(follow.out().match(/while you follow/g)).toHaveLength(1);

    // chat with piped stdin: lines are sent (and shown once, sequenced), incoming ones printed
    const chat = spawnCli(b, 'chat', 'lobby');
    await vi.waitFor(() => expect(chat.out()).toContain('bob: while you follow'), WAIT);
    chat.child.stdin.write('typed in chat\n');
    await vi.waitFor(() => expect(chat.out()).toMatch(/\[4\] .* bob: typed in chat\n/), WAIT);
    await ok(a, 'send', 'lobby', 'answer from alice');
    await vi.waitFor(
      () => expect(chat.out()).toMatch(/\[5\] .* alice \?: answer from alice\n/),
      WAIT,
    );
    chat.child.stdin.write('/members\nlast words\n');
    chat.child.stdin.end();
    expect(await chat.exited, chat.err()).toBe(0);
    expect(chat.out()).toMatch(/· you\s+bob/);
    expect(chat.out()).toMatch(/\[6\] .* bob: last words\n/);
    expect(chat.out().match(/typed in chat/g)).toHaveLength(1);
    await vi.waitFor(async () => {
      expect(await ok(a, 'read', 'lobby', '--after', '3')).toMatch(
        /bob: typed in chat\n.*alice: answer from alice\n.*bob: last words\n$/,
      );
    }, WAIT);

    const members = await ok(a, 'room', 'members', 'lobby');
    expect(members).toMatch(/^TRUST\s+NAME\s+PEER\s+ROLE/);
    expect(members).toMatch(/· you\s+alice\s+[0-9a-f]{12}\s+owner/);
    expect(members).toMatch(/\? unverified\s+bob\s+[0-9a-f]{12}\s+member/);

    const bobId = b.p.ready.peerId;
    expect(await ok(a, 'room', 'kick', 'lobby', bobId.slice(0, 8))).toContain(
      'removed bob (' + bobId.slice(0, 12) + ') from "lobby"',
    );
    const after = JSON.parse(await ok(a, 'room', 'members', 'lobby', '--json'));
    expect(after.map((m: { name: string }) => m.name)).toEqual(['alice']);
    await vi.waitFor(
      () =>
        failsWith(
          b,
          'ERR_NOT_MEMBER',
          'you are not in room "lobby"',
          'send',
          'lobby',
          'still here?',
        ),
      WAIT,
    );
  }, 180_000);

  it('explains wrong passwords, unknown rooms and used invites in one line', async () => {
    const group = uniqueMulticastGroup();
    const [a, b, c] = await Promise.all([
      peer('alice', ['--multicast', group]),
      peer('bob', ['--multicast', group]),
      peer('carol', ['--no-discovery']),
    ]);
    await ok(a, 'room', 'create', 'vault', '--policy', 'password', '--password', 's3cret', '--cbc');
    await vi.waitFor(async () => {
      const listed = await ok(b, 'room', 'list');
      expect(listed).toMatch(/vault\s+\S+\s+discovered\s+-\s+password/);
    }, WAIT);

    await failsWith(
      b,
      'ERR_WRONG_PASSWORD',
      'wrong password for room "vault"; ask the owner',
      'room',
      'join',
      'vault',
      '--password',
      'guess',
    );
    expect(await ok(b, 'room', 'join', 'vault', '--password', 's3cret')).toContain(
      'joined "vault"',
    );
    const vault = JSON.parse(await ok(a, 'room', 'list', '--json')).find(
      (r: { name: string }) => r.name === 'vault',
    );
    expect(vault).toMatchObject({ suite: 'aes-256-cbc-hmac-sha256', members: 2 });
    expect(await ok(a, 'room', 'rotate', 'vault')).toContain('"vault" is at epoch 2');

    await failsWith(b, 'ERR_NOT_FOUND', 'no room "nope"', 'read', 'nope');
    await failsWith(b, 'ERR_NOT_FOUND', '--invite CODE', 'room', 'join', 'nope');
    await failsWith(b, 'ERR_INVALID_ARGUMENT', '--invite CODE', 'room', 'join');
    await failsWith(b, 'ERR_INVITE_INVALID', 'not an invite code', 'room', 'join', '--invite', 'x');

    const code = (await ok(a, 'room', 'invite', 'vault')).split('\n')[0]!;
    expect(await ok(c, 'room', 'join', '-', '--invite', code)).toContain('joined "vault"');
    const d = await peer('dave');
    await failsWith(
      d,
      'ERR_INVITE_USED',
      'ask a member for a new one',
      'room',
      'join',
      '--invite',
      code,
    );
  }, 180_000);

  it('asks to join an approval room, shows the request to the owner, and gets in once approved', async () => {
    const group = uniqueMulticastGroup();
    const [a, b, c] = (await Promise.all(
      ['alice', 'bob', 'carol'].map((n) => peer(n, ['--multicast', group])),
    )) as [TestPeer, TestPeer, TestPeer];
    await ok(a, 'room', 'create', 'door', '--policy', 'approval');
    await vi.waitFor(async () => {
      for (const p of [b, c])
        expect(await ok(p, 'room', 'list')).toMatch(/door\s+\S+\s+discovered\s+-\s+approval/);
    }, WAIT);
    const asked = await ok(b, 'room', 'join', 'door');
    expect(asked).toContain('waiting for approval');
    expect(asked).toContain(`conclave room approve door ${b.p.ready.peerId.slice(0, 12)}`);
    expect(await ok(a, 'room', 'list')).toContain(
      `door: bob (${b.p.ready.peerId.slice(0, 8)}) asks to join`,
    );
    expect(await ok(a, 'room', 'approve', 'door', b.p.ready.peerId.slice(0, 8))).toContain(
      'they are in "door" now',
    );
    await vi.waitFor(async () => {
      expect(await ok(b, 'room', 'list')).toMatch(/door\s+\S+\s+joined\s+member\s+approval/);
    }, WAIT);

    // --wait blocks until the owner lets carol in
    const waiter = spawnCli(c, 'room', 'join', 'door', '--wait');
    await vi.waitFor(() => expect(waiter.out()).toContain('waiting for the owner'), WAIT);
    await ok(a, 'room', 'approve', 'door', c.p.ready.peerId.slice(0, 8));
    expect(await waiter.exited, waiter.err()).toBe(0);
    expect(waiter.out()).toContain('joined "door"');
  }, 120_000);
});
