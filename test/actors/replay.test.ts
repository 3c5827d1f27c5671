import { describe, expect, it } from 'vitest';
import { explainFailure } from '../../src/actors/explain.js';
import { createPeerRuntime } from '../../src/actors/peer-runtime.js';
import { replayStream } from '../../src/actors/replay.js';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';

async function recordedRun() {
  const store = createMemoryEventStore();
  const rt = createPeerRuntime(
    {
      peerId: 'p',
      name: 'n',
      fingerprint: 'p',
      identityKind: 'ed25519',
      store: 'memory',
      version: '0',
    },
    { store },
  );
  rt.start();
  rt.listening('http://a', 'http://b');
  rt.trust({ type: 'pin.seen', peerId: 'b'.repeat(64), kind: 'ed25519', name: 'bob', at: 't1' });
  rt.trust({ type: 'pin.verify', peerId: 'b'.repeat(64), at: 't2' });
  rt.discovered({
    type: 'peer.seen',
    peerId: 'c'.repeat(64),
    name: 'c',
    kind: 'rsa',
    urls: ['http://x:1'],
    rooms: [],
    via: 'static',
    at: 't3',
  });
  await rt.stop('test');
  return store;
}

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
