import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseFrame } from '../../src/cli/commands/event-stream.js';
import type { MessageView } from '../../src/cli/commands/room-client.js';
import { createRoomFeed } from '../../src/cli/commands/room-feed.js';
import { formatMessage, printable, skippedNotice } from '../../src/cli/commands/room-format.js';

const ROOM = 'room-1';
const msg = (seq: number, text: string | null = `m${seq}`): MessageView => ({
  id: `id-${seq}`,
  seq,
  roomId: ROOM,
  sender: 'ab'.repeat(32),
  senderName: 'alice',
  text,
  epoch: 1,
  sentAt: new Date().toISOString(),
  ...(text === null ? { error: { code: 'ERR_MISSING_KEY', detail: 'no key for epoch 1' } } : {}),
});
const frame = (id: number, event: string, data: unknown): string =>
  `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A fake local API: the room's messages, and an event stream scripted per connection. */
async function fakePeer(
  stored: MessageView[],
  connections: Array<(req: IncomingMessage, res: ServerResponse) => void>,
) {
  const lastEventIds: Array<string | undefined> = [];
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === `/api/rooms/${ROOM}/messages`) {
      const after = Number(url.searchParams.get('after'));
      const limit = Number(url.searchParams.get('limit'));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(stored.filter((m) => m.seq > after).slice(0, limit)));
      return;
    }
    lastEventIds.push(req.headers['last-event-id'] as string | undefined);
    const script = connections.shift();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': hello\n\n');
    script?.(req, res);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { target: { apiUrl: `http://127.0.0.1:${port}`, token: 't' }, lastEventIds };
}

describe('room feed (read --follow, chat)', () => {
  it('delivers history then live messages once each, fills gaps, and resumes with Last-Event-ID', async () => {
    const stored = [msg(1), msg(2)];
    const old = new Date(Date.now() - 60_000).toISOString();
    const { target, lastEventIds } = await fakePeer(stored, [
      (_req, res) => {
        // the replay buffer repeats what history already gave, then a jump from 2 to 5
        res.write(frame(1, 'message', msg(1)) + frame(2, 'message', msg(2)));
        res.write(frame(3, 'room', { at: old, roomId: ROOM, change: 'members' }));
        stored.push(msg(3), msg(4), msg(5));
        setTimeout(() => {
          res.write(frame(4, 'message', msg(5)));
          setTimeout(() => res.destroy(), 100);
        }, 100);
      },
      (_req, res) => {
        stored.push(msg(6));
        res.write(frame(5, 'message', msg(6)));
        res.write(frame(6, 'room', { at: new Date().toISOString(), roomId: ROOM, change: 'x' }));
      },
    ]);
    const seen: number[] = [];
    const events: string[] = [];
    const drops: string[] = [];
    const ac = new AbortController();
    const feed = createRoomFeed({
      target,
      roomId: ROOM,
      after: 0,
      signal: ac.signal,
      onMessage: (m) => seen.push(m.seq),
      onEvent: (e) => events.push(`${e.event}:${String(e.data.change)}`),
      onDrop: (r) => drops.push(r),
    });
    const running = feed.run();
    await vi.waitFor(() => expect(seen).toEqual([1, 2, 3, 4, 5, 6]), { timeout: 5_000 });
    await vi.waitFor(() => expect(events).toEqual(['room:x']), { timeout: 5_000 });
    ac.abort();
    await running;
    expect(lastEventIds).toEqual([undefined, '4']);
    expect(drops).toHaveLength(1);
    expect(feed.lastSeq).toBe(6);
  });

  it('parses SSE frames with or without the space after the colon', () => {
    expect(parseFrame('id:7\nevent:room\ndata:{"a":1}')).toEqual({
      id: '7',
      event: 'room',
      data: { a: 1 },
    });
    expect(parseFrame(': keep-alive')).toBeUndefined();
    expect(parseFrame('data: not json')).toBeUndefined();
  });
});

describe('message lines', () => {
  it('shows undecryptable messages with their code and strips terminal control sequences', () => {
    expect(formatMessage(msg(4, null))).toMatch(
      /^\[4\] \d\d:\d\d alice: ⚠ ERR_MISSING_KEY: no key for epoch 1$/,
    );
    expect(formatMessage({ ...msg(5), text: 'hi\x1b[2J\x1b]0;pwned\x07 there' })).toMatch(
      /alice: hi]0;pwned there$/,
    );
    expect(formatMessage({ ...msg(6), text: 'two\nlines' })).toMatch(/alice: two\n {17}lines$/);
    expect(printable('a\r\nb\tc\u009b')).toBe('a b\tc');
  });
});

describe('history-skipped notice', () => {
  it('names the skipped range and says why, in one line', () => {
    expect(skippedNotice({ from: 12, through: 4_000 })).toMatch(
      /^messages 12–4000 are no longer held by the host .*history window.* skipped$/,
    );
    expect(skippedNotice({ from: 7, through: 7 })).toMatch(/^message 7 is no longer held/);
    expect(skippedNotice({ from: 7, through: 7 })).not.toContain('\n');
  });
});
