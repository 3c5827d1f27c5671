/**
 * Replaying EVERY stream of a real peer's durable log reproduces every recorded state.
 *
 * Three real peers with file logs find each other by multicast on loopback, handshake by peer id,
 * exchange sealed pings (requests and push frames) past the re-key threshold, change a trust pin
 * and fail one handshake; then they stop and every stream of every log is replayed, through the
 * CLI (`conclave log replay --all`) and in-process. Streams are not listed by hand: whatever the
 * log holds is replayed, so new stream kinds (rooms, rotations, …) are covered as soon as peers
 * record them — and a stream whose machine replay does not know fails this test.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { replayableMachines, replayStream } from '../../src/actors/replay.js';
import type { RecordedEvent } from '../../src/store/event-store.js';
import { readAllStreams, startDurablePeer, type DurablePeer } from '../support/durable-log.js';
import { http } from '../support/http.js';
import { runCli, testPeers, uniqueMulticastGroup } from '../support/peer-process.js';

const lab = testPeers();
afterEach(() => lab.cleanup());

const post = (peer: DurablePeer, path: string, body: unknown = {}) =>
  http(`${peer.p.ready.apiUrl}${path}`, {
    method: 'POST',
    headers: { ...peer.auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** Sealed pings from `a` to `b`, every third over the push link; the highest epoch seen. */
async function pings(a: DurablePeer, b: DurablePeer, count: number): Promise<number> {
  let epoch = 0;
  for (let n = 0; n < count; n++) {
    const via = n % 3 === 2 ? 'push' : 'request';
    const ping = await post(a, `/api/peers/${b.p.ready.peerId}/ping?via=${via}`);
    expect(ping.status, JSON.stringify(ping.json)).toBe(200);
    epoch = Math.max(epoch, ping.json.epoch as number);
  }
  return epoch;
}

/** Discovery, handshakes by peer id, sealed pings past the re-key threshold, a pin, a failure. */
async function realisticScenario(): Promise<DurablePeer[]> {
  const group = uniqueMulticastGroup();
  const peers: DurablePeer[] = [];
  for (const name of ['ana', 'ben', 'cai'])
    peers.push(await startDurablePeer(lab, name, ['--multicast', group, '--rekey-after', '4']));
  await vi.waitFor(
    async () => {
      for (const p of peers) {
        const r = await http(`${p.p.ready.apiUrl}/api/peers`, { headers: p.auth });
        expect(r.json).toHaveLength(2);
      }
    },
    { timeout: 15_000, interval: 250 },
  );
  const byName = new Map(peers.map((p) => [p.p.ready.name, p]));
  let maxEpoch = 0;
  // every peer is requester, responder or both
  for (const [from, to] of [
    ['ana', 'ben'],
    ['ana', 'cai'],
    ['ben', 'cai'],
  ] as const) {
    const [a, b] = [byName.get(from)!, byName.get(to)!];
    const connected = await post(a, '/api/peers/connect', {
      peerId: b.p.ready.peerId.slice(0, 10),
    });
    expect(connected.status, JSON.stringify(connected.json)).toBe(200);
    maxEpoch = Math.max(maxEpoch, await pings(a, b, 12));
  }
  expect(maxEpoch, 'sessions re-keyed').toBeGreaterThanOrEqual(1);
  const verify = await post(peers[0]!, `/api/peers/${peers[1]!.p.ready.peerId}/verify`, {
    fingerprint: peers[1]!.p.ready.fingerprint,
  });
  expect(verify.status, JSON.stringify(verify.json)).toBe(200);
  const failed = await post(peers[2]!, '/api/peers/connect', { url: 'http://127.0.0.1:9' });
  expect(failed.status).toBeGreaterThanOrEqual(400);
  // Requesters first: a peer whose accepted session link is still open does not finish SIGTERM
  // (its peer API waits for the upgraded socket; the links close only after that), so each peer
  // stops after the peers that opened links to it.
  for (const p of peers) expect(await p.p.stop(), `${p.p.ready.name} exit code`).toBe(0);
  return peers;
}

/**
 * The per-log check: every machine that recorded is replayable, and every stream replays to
 * exactly its recorded states. Returns the machines seen. Throws (fails) on anything else.
 */
function expectLogReplays(streams: ReadonlyMap<string, readonly RecordedEvent[]>): Set<string> {
  const known = replayableMachines();
  const recordedBy = new Set(
    [...streams.values()].flat().map((e) => String(e.meta.machine ?? '(none)')),
  );
  expect(
    [...recordedBy].filter((m) => !(m in known)),
    'machines replay does not know',
  ).toEqual([]);
  const seen = new Set<string>();
  for (const [stream, events] of streams) {
    const r = replayStream(stream, events);
    expect(r.problem, stream).toBeNull();
    expect(r.warnings, stream).toEqual([]);
    expect(
      r.steps.map((s) => s.replayedTo),
      stream,
    ).toEqual(events.map((e) => e.meta.to));
    r.machines.forEach((m) => seen.add(m));
  }
  return seen;
}

describe('replay of every stream of a real log', () => {
  it('reproduces every recorded state of every stream, whatever streams the log holds', async () => {
    const peers = await realisticScenario();
    const machinesSeen = new Set<string>();
    for (const peer of peers) {
      const streams = await readAllStreams(peer.log);
      const kinds = new Set([...streams.keys()].map((s) => s.split(':')[0]));
      expect([...kinds]).toEqual(expect.arrayContaining(['peer', 'discovery', 'trust', 'session']));
      expectLogReplays(streams).forEach((m) => machinesSeen.add(m));
      expect(
        [...streams.values()].flat().some((e) => e.type === 'rekey.completed'),
        `${peer.p.ready.name} recorded a re-key`,
      ).toBe(true);

      // the same through the CLI, as an operator checks a stopped peer's log
      const all = await runCli(['log', 'replay', '--all', '--store', peer.log, '--json']);
      expect(all.code, all.stdout + all.stderr).toBe(0);
      const report = JSON.parse(all.stdout);
      expect(report.divergent).toBe(0);
      expect(report.streams.map((s: { stream: string }) => s.stream).sort()).toEqual(
        [...streams.keys()].sort(),
      );
    }
    expect([...machinesSeen]).toEqual(
      expect.arrayContaining([
        'peer',
        'discovery',
        'trust',
        'handshake-requester',
        'handshake-responder',
        'session',
      ]),
    );
  }, 120_000);

  it('fails rather than skips a stream recorded by a machine replay does not know', async () => {
    const solo = await startDurablePeer(lab, 'solo', ['--no-discovery']);
    expect(await solo.p.stop()).toBe(0);
    const streams = await readAllStreams(solo.log);
    expect(() => expectLogReplays(streams)).not.toThrow();
    // a new kind of stream, as rooms and rotations will add, before replay learns its machine
    const events = streams.get('trust')!;
    const doctored = new Map(streams).set(
      'rotation:r1:2',
      events.map((e) => ({
        ...e,
        stream: 'rotation:r1:2',
        meta: { ...e.meta, machine: 'unregistered-rotation' },
      })),
    );
    expect(() => expectLogReplays(doctored)).toThrow(/machines replay does not know/);
  }, 60_000);
});
