/** Replay of streams that hold several actors, of other machine versions, and explanations. */
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { explainFailure, explainedReasons } from '../../src/actors/explain.js';
import {
  registerReplayMachine,
  replayableMachines,
  replayStream,
} from '../../src/actors/replay.js';
import type { RecordedEvent } from '../../src/store/event-store.js';
import { HANDSHAKE_FAILURE_REASONS } from '../../src/machines/handshake.types.js';
import { aRecordedRun } from '../fixtures/recorded-run.js';

async function twoStreams(): Promise<{ trust: RecordedEvent[]; discovery: RecordedEvent[] }> {
  const store = await aRecordedRun();
  return { trust: await store.readStream('trust'), discovery: await store.readStream('discovery') };
}

/** Two actors' records in one stream, as a session stream holds its handshake and its session. */
function merged(
  a: RecordedEvent[],
  b: RecordedEvent[],
  order: 'after' | 'interleaved',
): RecordedEvent[] {
  const tagged = (list: RecordedEvent[], actorId: string) =>
    list.map((e) => ({ ...e, meta: { ...e.meta, actorId } }));
  const [x, y] = [tagged(a, 'x:0'), tagged(b, 'x:1')];
  const all =
    order === 'after'
      ? [...x, ...y]
      : x.flatMap((e, i) => (y[i] ? [e, y[i]] : [e])).concat(y.slice(x.length));
  return all.map((e, i) => ({ ...e, stream: 'mixed', version: i + 1, position: i + 1 }));
}

describe('replayStream with several actors in one stream', () => {
  it('replays one actor after another, each from its own xstate.init', async () => {
    const { trust, discovery } = await twoStreams();
    const r = replayStream('mixed', merged(trust, discovery, 'after'));
    expect(r.problem).toBeNull();
    expect(r.mismatches).toBe(0);
    expect(r.machines).toEqual(['trust', 'discovery']);
    expect(r.machine).toBe('discovery');
  });

  it('keeps each actor apart even when their records interleave', async () => {
    const { trust, discovery } = await twoStreams();
    const r = replayStream('mixed', merged(trust, discovery, 'interleaved'));
    expect(r.problem).toBeNull();
    expect(r.mismatches).toBe(0);
    expect(r.steps).toHaveLength(trust.length + discovery.length);
  });

  it('says so when an actor has records but no xstate.init', async () => {
    const { trust } = await twoStreams();
    const r = replayStream('trust', trust.slice(1));
    expect(r.problem).toMatch(/do not start with xstate.init/);
  });

  it('warns when the log was recorded by another version of a machine', async () => {
    const { trust } = await twoStreams();
    const older = trust.map((e) => ({ ...e, meta: { ...e.meta, machineVersion: 0 } }));
    const r = replayStream('trust', older);
    expect(r.mismatches).toBe(0);
    expect(r.warnings).toEqual([
      expect.stringMatching(/trust machine version 0; this conclave runs version 1/),
    ]);
  });

  it('learns new machines, so their streams replay', () => {
    const toggle = setup({ types: { events: {} as { type: 'flip' } } }).createMachine({
      id: 'test-toggle',
      initial: 'off',
      states: { off: { on: { flip: 'on' } }, on: {} },
    });
    const events: RecordedEvent[] = [
      {
        stream: 't',
        version: 1,
        position: 1,
        type: 'xstate.init',
        data: {},
        meta: { recordedAt: 't', machine: 'test-toggle', machineVersion: 3, to: 'off' },
      },
      {
        stream: 't',
        version: 2,
        position: 2,
        type: 'flip',
        data: { type: 'flip' },
        meta: { recordedAt: 't', machine: 'test-toggle', machineVersion: 3, to: 'on' },
      },
    ];
    expect(replayStream('t', events).problem).toContain('no machine definition for "test-toggle"');
    registerReplayMachine(toggle, 3);
    expect(replayableMachines()['test-toggle']).toBe(3);
    const r = replayStream('t', events);
    expect(r).toMatchObject({ problem: null, mismatches: 0, warnings: [] });
  });
});

describe('explainFailure', () => {
  it('explains every handshake failure reason in plain words', () => {
    expect(explainedReasons()).toEqual(expect.arrayContaining([...HANDSHAKE_FAILURE_REASONS]));
    for (const reason of HANDSHAKE_FAILURE_REASONS) {
      const e = explainFailure('handshake-requester', { reason }, null);
      expect(e?.text, reason).toContain('What to do:');
      expect(e?.reason).toBe(reason);
    }
  });

  it("gives the other side's reason for a refusal, and reads wrong-peer as a changed key", () => {
    const stale = explainFailure(
      'handshake-requester',
      { reason: 'rejected', detail: 'stale' },
      null,
    );
    expect(stale).toMatchObject({ reason: 'rejected', peerReason: 'stale' });
    expect(stale?.text).toContain('clock');
    const moved = explainFailure(
      'handshake-requester',
      { reason: 'rejected', detail: 'wrong-peer' },
      null,
    );
    expect(moved?.text).toContain('new key');
    const opaque = explainFailure(
      'handshake-requester',
      { reason: 'rejected', detail: 'HTTP 500' },
      null,
    );
    expect(opaque?.peerReason).toBeUndefined();
    expect(opaque?.text).toContain('reason rejected');
  });
});
