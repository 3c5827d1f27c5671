/**
 * Every stream rooms and rotations record replays through its machine to the recorded states:
 * room streams on the host and on members (joined, sending, kicked), and rotation streams
 * (batched acks, a removal's rotation, retirement).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { explainFailure } from '../../src/actors/explain.js';
import { replayStream } from '../../src/actors/replay.js';
import { explainReplay } from '../../src/cli/commands/log-replay.js';
import type { RecordedEvent } from '../../src/store/event-store.js';
import { createRotationNet, type RotationNet } from '../support/rotation-net.js';

let net: RotationNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

describe('replay of room and rotation streams', () => {
  it('reproduces every recorded state of every stream on every peer', async () => {
    net = createRotationNet({ deadlineMs: 300, retryMs: 50 });
    const a = await net.add('alice');
    const b = await net.add('bob');
    const c = await net.add('carol');
    const room = await a.rooms.create({ name: 'replayed', policy: 'invite' });
    for (const m of [b, c])
      await m.rooms.join(room.roomId, { invite: (await a.rooms.invite(room.roomId)).code });
    for (let i = 0; i < 5; i++) await [a, b, c][i % 3]?.rooms.send(room.roomId, `m${i}`);
    await a.rooms.rotate(room.roomId);
    await a.rooms.rotate(room.roomId);
    await a.rooms.kick(room.roomId, c.id, false);
    await new Promise((r) => setTimeout(r, 400));
    await b.rooms.send(room.roomId, 'after the kick');
    await new Promise((r) => setTimeout(r, 100));

    const seen = new Set<string>();
    for (const p of [a, b, c]) {
      await p.runtime.writer.flush();
      const byStream = new Map<string, RecordedEvent[]>();
      for (const e of await p.store.readAll({})) {
        if (!e.stream.startsWith('room:') && !e.stream.startsWith('rotation:')) continue;
        byStream.set(e.stream, [...(byStream.get(e.stream) ?? []), e]);
      }
      for (const [stream, events] of byStream) {
        const r = replayStream(stream, events);
        expect(r.problem, `${p.name} ${stream}`).toBeNull();
        expect(r.mismatches, `${p.name} ${stream}`).toBe(0);
        seen.add(`${stream.split(':')[0] ?? ''}:${r.final?.state as string}`);
      }
    }
    expect([...seen]).toEqual(
      expect.arrayContaining([
        'room:active',
        'room:left',
        'rotation:committed',
        'rotation:retired',
      ]),
    );
  });

  it('explains a rotation that committed without a member, and says nothing of one that did not', async () => {
    net = createRotationNet({ deadlineMs: 200, retryMs: 50 });
    const a = await net.add('alice');
    const b = await net.add('bob');
    const c = await net.add('carol');
    const room = await a.rooms.create({ name: 'laggy' });
    await b.rooms.join(room.roomId, {});
    await c.rooms.join(room.roomId, {});
    await a.rooms.rotate(room.roomId); // everyone acks
    c.setOnline(false);
    await a.rooms.rotate(room.roomId); // carol misses the deadline
    await new Promise((r) => setTimeout(r, 300));
    await a.runtime.writer.flush();
    const explain = async (epoch: number) => {
      const stream = `rotation:${room.roomId}:${epoch}`;
      const r = replayStream(stream, await a.store.readStream(stream));
      expect(r.mismatches).toBe(0);
      return explainFailure(r.machine, r.final?.context, r.steps.at(-1)?.type ?? null);
    };
    expect(await explain(2)).toBeNull();
    const e = await explain(3);
    expect(e?.reason).toBe('laggards');
    expect(e?.text).toContain(c.id.slice(0, 12));
    expect(e?.text).toContain('next fetch');
  });

  it('explains a rotation that its room’s deletion cancelled', async () => {
    net = createRotationNet({ deadlineMs: 60_000, retryMs: 50 });
    const a = await net.add('alice');
    const b = await net.add('bob');
    const room = await a.rooms.create({ name: 'gone' });
    await b.rooms.join(room.roomId, {});
    b.setOnline(false); // the rotation waits for bob
    void a.rooms.rotate(room.roomId).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    await a.rooms.leave(room.roomId); // the owner leaving deletes the room
    await a.runtime.writer.flush();
    const stream = `rotation:${room.roomId}:2`;
    const r = replayStream(stream, await a.store.readStream(stream));
    expect(r.mismatches).toBe(0);
    expect(r.final?.state).toBe('cancelled');
    const e = explainReplay(r);
    expect(e?.reason).toBe('cancelled');
    expect(e?.text).toContain('room was deleted');
    expect(e?.text).not.toContain('resumes');
  });
});
