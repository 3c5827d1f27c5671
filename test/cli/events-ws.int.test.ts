/**
 * The local WebSocket feed (`WS /api/events/ws`): the third local way to receive room messages
 * besides `GET /api/rooms/:id/messages` and SSE, with the same events, ids and resume point.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { testPeers } from '../support/peer-process.js';
import { clientOf, createRoom, send } from '../support/rooms.js';

const lab = testPeers();
afterEach(() => lab.cleanup());

interface Frame {
  id: number;
  type: string;
  data: { roomId?: string; text?: string; seq?: number };
}

function open(url: string): Promise<{ ws: WebSocket; frames: Frame[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const frames: Frame[] = [];
    ws.on('message', (data) =>
      frames.push(JSON.parse(Buffer.from(data as Buffer).toString('utf8')) as Frame),
    );
    ws.once('open', () => resolve({ ws, frames }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('WS /api/events/ws', () => {
  it('streams message events live, resumes after an id, and wants the token', async () => {
    const a = await lab.start('ann', ['--no-discovery']);
    const client = clientOf('ann', a);
    const token = a.auth.authorization?.replace('Bearer ', '') ?? '';
    const base = a.p.ready.apiUrl.replace('http://', 'ws://');
    const room = await createRoom(client, { name: 'ws-room' });

    await expect(open(`${base}/api/events/ws?token=wrong`)).rejects.toThrow('HTTP 401');
    await expect(open(`${base}/api/events/ws/other?token=${token}`)).rejects.toThrow('HTTP 404');

    const first = await open(`${base}/api/events/ws?token=${token}`);
    await send(client, room.roomId, 'one');
    await send(client, room.roomId, 'two');
    const messages = (f: Frame[]): Frame[] => f.filter((e) => e.type === 'message');
    await until(() => messages(first.frames).length === 2, 'two message events');
    expect(messages(first.frames).map((e) => e.data.text)).toEqual(['one', 'two']);
    expect(messages(first.frames).map((e) => e.data.roomId)).toEqual([room.roomId, room.roomId]);
    const lastId = messages(first.frames)[0]?.id ?? 0;
    first.ws.close();

    // resume after the first message: the second (buffered) and the next (live), nothing twice
    const again = await open(`${base}/api/events/ws?token=${token}&after=${lastId}`);
    await send(client, room.roomId, 'three');
    await until(() => messages(again.frames).length === 2, 'two more message events');
    expect(messages(again.frames).map((e) => e.data.text)).toEqual(['two', 'three']);
    again.ws.close();
  }, 60_000);
});
