import { afterEach, describe, expect, it, vi } from 'vitest';
import { http } from '../support/http.js';
import { runCli, testPeers, uniqueMulticastGroup, type TestPeer } from '../support/peer-process.js';

const lab = testPeers();
afterEach(() => lab.cleanup());

const peer = (name: string, extra: string[] = []): Promise<TestPeer> =>
  lab.start(name, ['--no-discovery', ...extra]);

describe('sessions between real peer processes', () => {
  it('connects by URL, shows the same SAS on both sides, and exchanges sealed requests and push frames', async () => {
    const a = await peer('alice');
    const b = await peer('bob');
    const c = await runCli(['connect', b.p.ready.peerUrl, '--data-dir', a.dir, '--json']);
    expect(c.code, c.stderr).toBe(0);
    const conn = JSON.parse(c.stdout);
    expect(conn).toMatchObject({
      peerId: b.p.ready.peerId,
      suite: 'x25519-aes256gcm',
      trust: 'unverified',
      link: 'up',
    });
    expect(conn.sas).toMatch(/^\d{5}( \d{5}){3}$/);

    // bob saw the same session, with the same SAS, and pinned alice on first use
    await vi.waitFor(async () => {
      const r = await http(`${b.p.ready.apiUrl}/api/peers`, { headers: b.auth });
      expect(r.json).toEqual([
        expect.objectContaining({
          peerId: a.p.ready.peerId,
          trust: 'unverified',
          session: expect.objectContaining({ sas: conn.sas, role: 'responder' }),
        }),
      ]);
    });

    for (const via of ['request', 'push'] as const) {
      const ping = await http(
        `${a.p.ready.apiUrl}/api/peers/${b.p.ready.peerId.slice(0, 10)}/ping?via=${via}`,
        { method: 'POST', headers: { ...a.auth, 'content-type': 'application/json' }, body: '{}' },
      );
      expect(ping.status, JSON.stringify(ping.json)).toBe(200);
      expect(ping.json).toMatchObject({ via, sessionId: conn.sessionId, epoch: 0 });
    }
    const metrics = await http(`${a.p.ready.apiUrl}/api/metrics`, { headers: a.auth });
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.text).toContain(
      'conclave_handshakes_total{role="requester",result="established"} 1',
    );
    expect(metrics.text).toContain('conclave_sessions 1');
    expect(metrics.text).toMatch(/conclave_log_appended_total \d+/);
    const bMetrics = await http(`${b.p.ready.apiUrl}/api/metrics`, { headers: b.auth });
    expect(bMetrics.text).toContain(
      'conclave_handshakes_total{role="responder",result="established"} 1',
    );
    const cliPing = await runCli([
      'ping',
      b.p.ready.peerId.slice(0, 8),
      '--push',
      '--data-dir',
      a.dir,
    ]);
    expect(cliPing.code, cliPing.stderr).toBe(0);
    expect(cliPing.stdout).toContain('sealed push round trip');

    // both sides recorded the handshake; replaying the streams reproduces every state
    for (const side of [a, b]) {
      const log = await http(`${side.p.ready.apiUrl}/api/log?prefix=session:&limit=1000`, {
        headers: side.auth,
      });
      const streams = [
        ...new Set<string>(log.json.entries.map((e: { stream: string }) => e.stream)),
      ];
      expect(streams.length).toBeGreaterThan(0);
      for (const stream of streams) {
        const replay = await runCli([
          'log',
          'replay',
          '--stream',
          stream,
          '--data-dir',
          side.dir,
          '--json',
        ]);
        expect(replay.code, replay.stdout + replay.stderr).toBe(0);
        expect(JSON.parse(replay.stdout).mismatches).toBe(0);
      }
    }
  }, 60_000);

  it('re-keys a session with fresh ECDH after the configured number of messages', async () => {
    const a = await peer('alice', ['--rekey-after', '5']);
    const b = await peer('bob', ['--rekey-after', '5']);
    const c = await runCli(['connect', b.p.ready.peerUrl, '--data-dir', a.dir, '--json']);
    expect(c.code, c.stderr).toBe(0);
    let epoch = 0;
    for (let i = 0; i < 14; i++) {
      const ping = await http(`${a.p.ready.apiUrl}/api/peers/${b.p.ready.peerId}/ping`, {
        method: 'POST',
        headers: { ...a.auth, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(ping.status, JSON.stringify(ping.json)).toBe(200);
      epoch = ping.json.epoch;
    }
    expect(epoch).toBeGreaterThanOrEqual(1);
    const bPeers = await http(`${b.p.ready.apiUrl}/api/peers`, { headers: b.auth });
    expect(bPeers.json[0].session.epoch).toBe(epoch);
    // the push link still works under the new keys
    const push = await http(`${a.p.ready.apiUrl}/api/peers/${b.p.ready.peerId}/ping?via=push`, {
      method: 'POST',
      headers: { ...a.auth, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(push.status, JSON.stringify(push.json)).toBe(200);
  }, 60_000);

  it('connects in RSA mode between RSA identities', async () => {
    const a = await peer('alice', ['--identity', 'rsa']);
    const b = await peer('bob', ['--identity', 'rsa']);
    const r = await http(`${a.p.ready.apiUrl}/api/peers/connect`, {
      method: 'POST',
      headers: { ...a.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ url: b.p.ready.peerUrl, suites: ['rsaoaep-aes256gcm'] }),
    });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.suite).toBe('rsaoaep-aes256gcm');
    const ping = await http(`${a.p.ready.apiUrl}/api/peers/${b.p.ready.peerId}/ping`, {
      method: 'POST',
      headers: { ...a.auth, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(ping.status).toBe(200);
  }, 60_000);

  it('three peers on loopback find each other by multicast and open sessions by peer id', async () => {
    const group = uniqueMulticastGroup();
    const nodes: TestPeer[] = [];
    for (const name of ['p1', 'p2', 'p3'])
      nodes.push(await lab.start(name, ['--multicast', group]));
    await vi.waitFor(
      async () => {
        for (const n of nodes)
          expect(
            (await http(`${n.p.ready.apiUrl}/api/peers`, { headers: n.auth })).json,
          ).toHaveLength(2);
      },
      { timeout: 15_000, interval: 250 },
    );
    for (const [i, j] of [
      [0, 1],
      [1, 2],
      [2, 0],
    ] as const) {
      const a = nodes[i]!;
      const b = nodes[j]!;
      const c = await runCli([
        'connect',
        b.p.ready.peerId.slice(0, 10),
        '--data-dir',
        a.dir,
        '--json',
      ]);
      expect(c.code, c.stderr).toBe(0);
      expect(JSON.parse(c.stdout)).toMatchObject({
        peerId: b.p.ready.peerId,
        name: b.p.ready.name,
      });
      for (const via of ['request', 'push']) {
        const ping = await http(
          `${a.p.ready.apiUrl}/api/peers/${b.p.ready.peerId}/ping?via=${via}`,
          {
            method: 'POST',
            headers: { ...a.auth, 'content-type': 'application/json' },
            body: '{}',
          },
        );
        expect(ping.status, JSON.stringify(ping.json)).toBe(200);
      }
    }
  }, 60_000);

  it('says why a connect fails, with a code, when nothing listens there', async () => {
    const a = await peer('alice');
    const r = await runCli(['connect', 'http://127.0.0.1:9', '--data-dir', a.dir]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/ERR_PEER_UNREACHABLE/);
  }, 30_000);
});
