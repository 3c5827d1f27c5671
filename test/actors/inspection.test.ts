import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assign, createActor, setup, type InspectionEvent } from 'xstate';
import { eventLabel, chartOf } from '../../src/actors/inspection-chart.js';
import { composeInspect, createInspectionFeed } from '../../src/actors/inspection.js';
import { createPeerRuntime } from '../../src/actors/peer-runtime.js';
import { REDACTED } from '../../src/actors/sanitize.js';
import { peerMachine } from '../../src/machines/peer.machine.js';
import { sessionMachine } from '../../src/machines/session.machine.js';
import type { InspectionRecord } from '../../src/protocol/inspection.types.js';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';

const counter = setup({
  types: {
    context: {} as { count: number; stream: string },
    events: {} as { type: 'inc' } | { type: 'stop' },
  },
}).createMachine({
  id: 'counter',
  context: { count: 0, stream: 'counter:1' },
  initial: 'counting',
  states: {
    counting: {
      on: {
        inc: { actions: assign({ count: ({ context }) => context.count + 1 }) },
        stop: 'stopped',
      },
    },
    stopped: { type: 'final' },
  },
});

function collect(feed: ReturnType<typeof createInspectionFeed>): InspectionRecord[] {
  const out: InspectionRecord[] = [];
  feed.events$().subscribe((r) => out.push(r));
  return out;
}

const runtimeInit = (isInspecting: boolean) => ({
  peerId: 'p1',
  name: 'alice',
  fingerprint: 'p1',
  identityKind: 'ed25519' as const,
  store: 'memory',
  version: '0.1.0',
  isInspecting,
});

describe('inspection feed', () => {
  it('adds no work when inspection is off: the recorder stays the only inspector', async () => {
    const recorder = (_ev: InspectionEvent): void => undefined;
    expect(composeInspect(recorder, undefined)).toBe(recorder);
    const rt = createPeerRuntime(runtimeInit(false), { store: createMemoryEventStore() });
    expect(rt.inspection).toBeUndefined();
    rt.start();
    await rt.stop('test');
  });

  it('reports every actor of the runtime, root and children, when on', async () => {
    const rt = createPeerRuntime(runtimeInit(true), { store: createMemoryEventStore() });
    rt.start();
    rt.listening('http://127.0.0.1:1', 'http://127.0.0.1:2');
    const records = collect(rt.inspection!);
    const actors = records.filter((r) => r.type === '@xstate.actor');
    expect(actors.map((r) => r.name)).toEqual(['peer', 'discovery', 'trust']);
    const root = actors[0]!;
    expect(root.snapshot).toMatchObject({ status: 'active', value: 'running' });
    expect(actors[1]).toMatchObject({ parentId: root.sessionId, rootId: root.sessionId });
    // an actor started with spawnActor reports too
    const extra = rt.spawnActor(counter, undefined);
    extra.send({ type: 'inc' });
    expect(records.filter((r) => r.sessionId === extra.sessionId).map((r) => r.type)).toEqual([
      '@xstate.actor',
      '@xstate.event',
      '@xstate.snapshot',
      '@xstate.event',
      '@xstate.snapshot',
    ]);
    await rt.stop('test');
    expect(rt.inspection!.stats().readers).toBe(0);
  });

  it('replays the live actors with their current state and the recent events to a late reader', () => {
    const feed = createInspectionFeed({ bufferSize: 4, now: () => 1_767_225_600_000 });
    const actor = createActor(counter, { inspect: feed.inspect }).start();
    for (let i = 0; i < 10; i++) actor.send({ type: 'inc' });
    const late = collect(feed);
    expect(late[0]).toMatchObject({
      type: '@xstate.actor',
      name: 'counter',
      sessionId: actor.sessionId,
      createdAt: '1767225600000',
      snapshot: { status: 'active', value: 'counting', context: { count: 10 } },
    });
    // then only the last 4 buffered events, oldest first, with increasing ids
    expect(late.slice(1).map((r) => r.type)).toEqual([
      '@xstate.event',
      '@xstate.snapshot',
      '@xstate.event',
      '@xstate.snapshot',
    ]);
    const ids = late.slice(1).map((r) => Number(r.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // then live events
    actor.send({ type: 'stop' });
    expect(late.at(-1)).toMatchObject({
      type: '@xstate.snapshot',
      event: { type: 'stop' },
      snapshot: { status: 'done', value: 'stopped' },
    });
    // an ended actor is no longer replayed as live
    const after = collect(feed);
    expect(after.filter((r) => r.type === '@xstate.actor')).toEqual([]);
    expect(feed.stats()).toMatchObject({ events: 25, buffered: 4, actors: 0, failed: 0 });
  });

  it('completes its readers when closed and ignores later events', () => {
    const feed = createInspectionFeed();
    let isComplete = false;
    feed.events$().subscribe({ complete: () => (isComplete = true) });
    feed.close();
    expect(isComplete).toBe(true);
    createActor(counter, { inspect: feed.inspect }).start();
    expect(feed.stats().events).toBe(0);
  });

  it('never lets a secret out: secret-named fields are redacted and raw bytes refused', () => {
    const key = randomBytes(32);
    const leaky = setup({
      types: {
        context: {},
        events: {} as { type: 'set'; password: string; material: Buffer; roomKey: string },
      },
    }).createMachine({
      id: 'leaky',
      context: { roomKey: key.toString('base64'), chain: key, nested: { sessionKey: key } },
      on: {
        set: {
          actions: assign(({ event }) => ({ password: event.password, bytes: event.material })),
        },
      },
    });
    const feed = createInspectionFeed();
    const records = collect(feed);
    const actor = createActor(leaky, { inspect: feed.inspect }).start();
    actor.send({ type: 'set', password: 'hunter2', material: key, roomKey: key.toString('hex') });
    const text = JSON.stringify(records) + JSON.stringify(collect(feed));
    for (const secret of [
      'hunter2',
      key.toString('hex'),
      key.toString('base64'),
      key.toString('base64url'),
    ]) {
      expect(text).not.toContain(secret);
    }
    const last = records.at(-1) as Extract<InspectionRecord, { type: '@xstate.snapshot' }>;
    expect(last.event).toMatchObject({ password: REDACTED, roomKey: REDACTED });
    expect(last.snapshot.context).toMatchObject({
      roomKey: REDACTED,
      password: REDACTED,
      chain: { $redacted: 'bytes', length: 32 },
      nested: { sessionKey: REDACTED },
    });
  });
});

describe('statechart of a machine', () => {
  it('lists the states with their paths and the transitions with readable labels', () => {
    const chart = chartOf(peerMachine)!;
    expect(chart.root).toMatchObject({ id: 'peer', initial: 'peer.starting', path: [] });
    expect(chart.root.children.map((n) => [n.name, n.type])).toEqual([
      ['starting', 'atomic'],
      ['running', 'atomic'],
      ['stopping', 'atomic'],
      ['stopped', 'final'],
    ]);
    expect(chart.edges).toContainEqual({
      source: 'peer.starting',
      targets: ['peer.running'],
      event: 'peer.listening',
      label: 'peer.listening',
    });
    // a query handled at the root changes no state: an edge without targets
    expect(chart.edges).toContainEqual(
      expect.objectContaining({ source: 'peer', targets: [], event: 'info.query' }),
    );
    expect(chart.isTruncated).toBe(false);
  });

  it('keeps nested and parallel states with the paths snapshot values use', () => {
    const chart = chartOf(sessionMachine)!;
    const active = chart.root.children.find((n) => n.name === 'active')!;
    expect(active.type).toBe('parallel');
    const keys = active.children.find((n) => n.name === 'keys')!;
    expect(keys.path).toEqual(['active', 'keys']);
    expect(keys.children.map((n) => n.path.join('.'))).toContain('active.keys.current');
  });

  it('names delayed, eventless and done transitions plainly, and has no chart for other logic', () => {
    expect(eventLabel('xstate.after.1000.session.active')).toBe('after 1000 ms');
    expect(eventLabel('xstate.after.idleTimeout.session.active')).toBe('after idleTimeout');
    expect(eventLabel('')).toBe('always');
    expect(eventLabel('xstate.done.actor.child')).toBe('done: child');
    expect(eventLabel('peer.stop')).toBe('peer.stop');
    expect(chartOf({ transition: () => undefined })).toBeUndefined();
  });
});
