import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  assign,
  createActor,
  initialTransition,
  setup,
  transition,
  type AnyStateMachine,
} from 'xstate';
import { createLogWriter } from '../../src/actors/log-writer.js';
import { createPeerRuntime } from '../../src/actors/peer-runtime.js';
import { createRecorder } from '../../src/actors/recorder.js';
import { peerMachine } from '../../src/machines/peer.machine.js';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';
import type { RecordedEvent } from '../../src/store/event-store.js';
import { createRequestChannel } from '../../src/transport/request-channel.js';
import type { LocalRequest } from '../../src/transport/http/local-api.js';

function replayStates(machine: AnyStateMachine, events: readonly RecordedEvent[]): unknown[] {
  const [first, ...rest] = events;
  if (!first || first.type !== 'xstate.init') throw new Error('stream must start with xstate.init');
  let [snap] = initialTransition(machine, (first.data as { input: unknown }).input);
  const states: unknown[] = [snap.value];
  for (const e of rest) {
    [snap] = transition(machine, snap, e.data as { type: string });
    states.push(snap.value);
  }
  return states;
}

describe('peer runtime', () => {
  it('records every accepted event of the peer actor with from/to states and metadata', async () => {
    const store = createMemoryEventStore();
    const rt = createPeerRuntime(
      {
        peerId: 'p1',
        name: 'alice',
        fingerprint: 'p1',
        identityKind: 'ed25519',
        store: 'memory',
        version: '0.1.0',
      },
      { store, now: () => new Date('2026-01-01T00:00:00Z') },
    );
    const channel = createRequestChannel<LocalRequest, unknown>();
    rt.attach(channel);
    rt.start();
    rt.listening('http://127.0.0.1:1', 'http://127.0.0.1:2');
    await expect(channel.request({ type: 'info.query' })).resolves.toMatchObject({
      peerId: 'p1',
      state: 'running',
    });
    await rt.stop('test');

    const events = await store.readStream('peer:p1');
    expect(events.map((e) => e.type)).toEqual([
      'xstate.init',
      'peer.listening',
      'peer.stop',
      'peer.stopped',
    ]);
    expect(events.map((e) => [e.meta.from, e.meta.to])).toEqual([
      [null, 'starting'],
      ['starting', 'running'],
      ['running', 'stopping'],
      ['stopping', 'stopped'],
    ]);
    expect(events[1]?.meta).toMatchObject({
      machine: 'peer',
      machineVersion: 1,
      recordedAt: '2026-01-01T00:00:00.000Z',
    });
  });

  it('records a stream that replays through transition() to the same states', async () => {
    const store = createMemoryEventStore();
    const rt = createPeerRuntime(
      {
        peerId: 'p2',
        name: 'bob',
        fingerprint: 'p2',
        identityKind: 'rsa',
        store: 'memory',
        version: '0.1.0',
      },
      { store },
    );
    rt.start();
    rt.listening('http://a', 'http://b');
    await rt.stop('SIGINT');
    const events = await store.readStream('peer:p2');
    expect(replayStates(peerMachine, events)).toEqual(events.map((e) => e.meta.to));
  });

  it('does not record queries or events no transition accepted', async () => {
    const store = createMemoryEventStore();
    const rt = createPeerRuntime(
      {
        peerId: 'p3',
        name: 'c',
        fingerprint: 'p3',
        identityKind: 'ed25519',
        store: 'memory',
        version: '0',
      },
      { store },
    );
    rt.start();
    rt.actor.send({ type: 'peer.stopped', at: 'x' }); // not accepted in `starting`
    rt.info();
    await rt.writer.flush();
    expect((await store.readStream('peer:p3')).map((e) => e.type)).toEqual(['xstate.init']);
  });

  it('keeps key bytes and passwords out of the log even when a machine is handed them', async () => {
    const secret = randomBytes(32);
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const leaky = setup({
      types: {
        context: {} as { stream: string; roomKey: Buffer | null },
        events: {} as { type: 'key.set'; roomKey: Buffer; password: string; note: string },
      },
    }).createMachine({
      id: 'leaky',
      context: { stream: 'room:r1', roomKey: null },
      on: { 'key.set': { actions: assign(({ event }) => ({ roomKey: event.roomKey })) } },
    });
    const store = createMemoryEventStore();
    const writer = createLogWriter({}, { store });
    const actor = createActor(leaky, {
      inspect: createRecorder({
        record: (s, e) => writer.enqueue(s, e),
        now: () => new Date(),
        machineVersions: {},
      }),
    }).start();
    actor.send({ type: 'key.set', roomKey: secret, password, note: 'hello' });
    await writer.flush();
    const all = JSON.stringify(await store.readAll());
    expect(all).toContain('key.set');
    expect(all).toContain('hello');
    for (const enc of ['hex', 'base64', 'base64url'] as const)
      expect(all).not.toContain(secret.toString(enc));
    expect(all).not.toContain(JSON.stringify([...secret]).slice(1, -1));
    expect(all).not.toContain(password);
  });
});

describe('log writer', () => {
  it('appends once per stream per tick, in order, and flush waits for durability', async () => {
    const store = createMemoryEventStore();
    const calls: string[] = [];
    const spy = {
      ...store,
      append: (
        s: string,
        ev: Parameters<typeof store.append>[1],
        o?: Parameters<typeof store.append>[2],
      ) => {
        calls.push(`${s}:${ev.length}`);
        return store.append(s, ev, o);
      },
    };
    const writer = createLogWriter({}, { store: spy });
    const meta = { recordedAt: 't' };
    for (let i = 0; i < 5; i++) writer.enqueue('a', { type: `e${i}`, data: {}, meta });
    writer.enqueue('b', { type: 'x', data: {}, meta });
    expect(writer.pending).toBe(6);
    await writer.flush();
    expect(writer.pending).toBe(0);
    expect(calls.sort()).toEqual(['a:5', 'b:1']);
    expect((await store.readStream('a')).map((e) => e.type)).toEqual([
      'e0',
      'e1',
      'e2',
      'e3',
      'e4',
    ]);
  });

  it('reports overload past its high-water mark', () => {
    const writer = createLogWriter({ highWaterMark: 2 }, { store: createMemoryEventStore() });
    for (let i = 0; i < 3; i++)
      writer.enqueue('a', { type: 'e', data: {}, meta: { recordedAt: 't' } });
    expect(writer.isOverloaded).toBe(true);
  });

  it('keeps the events when another writer touched its stream, and says so', async () => {
    const store = createMemoryEventStore();
    const errors: string[] = [];
    const writer = createLogWriter({}, { store, onError: (e) => errors.push(e.code) });
    writer.enqueue('a', { type: 'mine1', data: {}, meta: { recordedAt: 't' } });
    await writer.flush();
    await store.append('a', [{ type: 'foreign', data: {}, meta: { recordedAt: 't' } }]);
    writer.enqueue('a', { type: 'mine2', data: {}, meta: { recordedAt: 't' } });
    await writer.flush();
    expect(errors).toEqual(['ERR_VERSION_CONFLICT']);
    expect((await store.readStream('a')).map((e) => e.type)).toEqual(['mine1', 'foreign', 'mine2']);
  });
});
