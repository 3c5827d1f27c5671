import { describe, expect, it } from 'vitest';
import { explainFailure } from '../../src/actors/explain.js';
import { replayStream } from '../../src/actors/replay.js';
import { aRecordedRun } from '../fixtures/recorded-run.js';

const recordedRun = aRecordedRun;

describe('replayStream', () => {
  it('reproduces every recorded state of the peer, trust and discovery streams', async () => {
    const store = await recordedRun();
    for (const stream of ['peer:p', 'trust', 'discovery']) {
      const r = replayStream(stream, await store.readStream(stream));
      expect(r.problem, stream).toBeNull();
      expect(r.mismatches, stream).toBe(0);
      expect(r.steps.length, stream).toBeGreaterThan(1);
    }
  });

  it('flags a step whose recorded state was doctored', async () => {
    const store = await recordedRun();
    const events = await store.readStream('peer:p');
    const doctored = events.map((e) =>
      e.type === 'peer.listening' ? { ...e, meta: { ...e.meta, to: 'stopped' } } : e,
    );
    const r = replayStream('peer:p', doctored);
    expect(r.mismatches).toBe(1);
    expect(r.steps.find((s) => !s.isMatch)).toMatchObject({
      type: 'peer.listening',
      recordedTo: 'stopped',
      replayedTo: 'running',
    });
  });

  it('stops at --at and shows the state there', async () => {
    const store = await recordedRun();
    const events = await store.readStream('peer:p');
    const r = replayStream('peer:p', events, events[1]!.position);
    expect(r.steps).toHaveLength(2);
    expect(r.final?.state).toBe('running');
  });

  it('says why it cannot replay a stream of an unknown machine', () => {
    const r = replayStream('x', [
      {
        stream: 'x',
        version: 1,
        position: 1,
        type: 'xstate.init',
        data: {},
        meta: { recordedAt: 't', machine: 'nope' },
      },
    ]);
    expect(r.problem).toContain('no machine definition');
  });

  it('explains a failure reason in plain words with what to do', () => {
    const e = explainFailure('handshake-requester', { reason: 'stale' }, 'offer.sent at #3');
    expect(e?.text).toContain('offer.sent at #3');
    expect(e?.text).toContain('clock');
    expect(explainFailure('peer', { reason: null }, null)).toBeNull();
  });
});
