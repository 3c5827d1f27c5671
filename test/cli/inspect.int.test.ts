/**
 * Live inspection between real peer processes: `serve --inspect` streams sanitized inspection
 * events of a real handshake over SSE and over the `@statelyai/inspect` WebSocket; without the
 * flag every route says how to turn it on; the WebSocket passes the local API's guards.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isSecretFieldName, REDACTED } from '../../src/actors/sanitize.js';
import {
  entriesDeep,
  followInspectSse,
  openInspectSocket,
  refusedUpgrade,
  type Rec,
} from '../support/inspect-client.js';
import { http } from '../support/http.js';
import { runCli, testPeers, type TestPeer } from '../support/peer-process.js';

const lab = testPeers();
afterEach(() => lab.cleanup());

const peer = (name: string, extra: string[] = [], env: Record<string, string> = {}) =>
  lab.start(name, ['--no-discovery', ...extra], env);

const tokenOf = async (p: TestPeer): Promise<string> =>
  (await readFile(join(p.dir, 'api-token'), 'utf8')).trim();

const wsUrl = (p: TestPeer, query = ''): string =>
  `${p.p.ready.apiUrl.replace('http:', 'ws:')}/api/inspect/ws${query}`;

/** Session id of the actor of `machine` that reached `value`, once it has. */
function reached(records: readonly Rec[], machine: string, value: string): boolean {
  const ids = new Set(
    records
      .filter((r) => r.type === '@xstate.actor' && r.machine === machine)
      .map((r) => r.sessionId),
  );
  return records.some(
    (r) => r.type === '@xstate.snapshot' && ids.has(r.sessionId) && r.snapshot?.value === value,
  );
}

function expectNoUnredactedSecrets(records: readonly Rec[]): void {
  for (const [key, value] of entriesDeep(records)) {
    if (isSecretFieldName(key)) expect(value, key).toBe(REDACTED);
  }
}

describe('live inspection (serve --inspect)', () => {
  it('streams a real handshake as sanitized inspection events over SSE and the Stately WebSocket', async () => {
    const a = await peer('alice', ['--inspect']);
    const b = await peer('bob', ['--inspect']);
    const sseA = await followInspectSse(a.p.ready.apiUrl, a.auth);
    const sseB = await followInspectSse(b.p.ready.apiUrl, b.auth);
    expect(sseA.status).toBe(200);
    const ws = await openInspectSocket(wsUrl(a, `?token=${await tokenOf(a)}`));
    // a second reader authenticates with the header instead of the query
    const wsHeader = await openInspectSocket(wsUrl(a), a.auth);
    try {
      // the live actors are replayed to a new reader first
      await vi.waitFor(() =>
        expect(ws.records.map((r) => r.machine)).toEqual(
          expect.arrayContaining(['peer', 'discovery', 'trust']),
        ),
      );
      const c = await runCli(['connect', b.p.ready.peerUrl, '--data-dir', a.dir, '--json']);
      expect(c.code, c.stderr).toBe(0);

      await vi.waitFor(
        () => {
          expect(reached(sseA.records, 'handshake-requester', 'established')).toBe(true);
          expect(reached(sseB.records, 'handshake-responder', 'established')).toBe(true);
          expect(reached(ws.records, 'handshake-requester', 'established')).toBe(true);
          expect(reached(wsHeader.records, 'handshake-requester', 'established')).toBe(true);
        },
        { timeout: 10_000 },
      );

      // the @statelyai/inspect event format: text frames, one JSON event each
      expect(ws.binaryFrames()).toBe(0);
      const types = new Set(ws.records.map((r) => r.type));
      expect([...types].sort()).toEqual(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);
      for (const r of ws.records) {
        expect(r).toMatchObject({
          id: expect.any(String),
          sessionId: expect.stringMatching(/^x:\d+$/),
          rootId: expect.stringMatching(/^x:\d+$/),
          createdAt: expect.stringMatching(/^\d+$/),
          _version: expect.any(String),
        });
      }
      const hs = ws.records.find(
        (r) => r.type === '@xstate.actor' && r.name === 'handshake-requester',
      );
      expect(JSON.parse(hs?.definition as string)).toMatchObject({ id: 'handshake-requester' });
      expect(hs?.chart.root.children.map((n: Rec) => n.name)).toContain('established');
      const discovery = ws.records.find(
        (r) => r.type === '@xstate.actor' && r.name === 'discovery',
      );
      const root = ws.records.find((r) => r.type === '@xstate.actor' && r.name === 'peer');
      expect(discovery?.parentId).toBe(root?.sessionId);
      const offer = ws.records.find(
        (r) => r.type === '@xstate.event' && r.event.type === 'offer.sent',
      );
      expect(offer?.sessionId).toBe(hs?.sessionId);
      // the session actor the handshake made is there too, with its (parallel) state
      const session = ws.records.find((r) => r.type === '@xstate.actor' && r.name === 'session');
      expect(session).toBeDefined();

      for (const records of [sseA.records, sseB.records, ws.records])
        expectNoUnredactedSecrets(records);
      const status = await http(`${a.p.ready.apiUrl}/api/inspect`, { headers: a.auth });
      expect(status.json).toMatchObject({ status: 'on', viewerPath: '/inspect/', readers: 3 });
    } finally {
      for (const r of [sseA, sseB, ws, wsHeader]) r.close();
    }
  }, 60_000);

  it('prints the inspector URL with the token in its fragment, and serves the page offline', async () => {
    const a = await peer('alice', [], { CONCLAVE_INSPECT: '1' });
    const token = await tokenOf(a);
    const json = await runCli(['inspect', '--data-dir', a.dir, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.url).toBe(`${a.p.ready.apiUrl}/inspect/#token=${token}`);
    expect(out.wsUrl).toBe(`${wsUrl(a)}?token=${token}`);
    const plain = await runCli(['inspect', '--data-dir', a.dir]);
    expect(plain.stdout.trim()).toBe(out.url);

    const page = await http(`${a.p.ready.apiUrl}/inspect/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.text).toContain('conclave inspector');
    // no CDN, no external URL: every asset is local
    expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    for (const asset of ['app.js', 'chart.js', 'style.css']) {
      const r = await http(`${a.p.ready.apiUrl}/inspect/${asset}`);
      expect(r.status, asset).toBe(200);
      expect(r.text).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    }
    const redirect = await http(`${a.p.ready.apiUrl}/inspect`);
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('/inspect/');
  }, 30_000);

  it('is off by default: 404 ERR_INSPECT_OFF saying to start with --inspect, and the CLI says what to do', async () => {
    const c = await peer('carol');
    for (const path of ['/api/inspect', '/api/inspect/events']) {
      const r = await http(`${c.p.ready.apiUrl}${path}`, { headers: c.auth });
      expect(r.status, path).toBe(404);
      expect(r.json).toMatchObject({ code: 'ERR_INSPECT_OFF' });
      expect(r.json.detail).toContain('--inspect');
    }
    const refused = await refusedUpgrade(wsUrl(c, `?token=${await tokenOf(c)}`));
    expect(refused).toMatchObject({ status: 404, json: { code: 'ERR_INSPECT_OFF' } });
    const cli = await runCli(['inspect', '--data-dir', c.dir]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('--inspect');
    expect(cli.stderr).toContain('ERR_INSPECT_OFF');
  }, 30_000);

  it('refuses the WebSocket without the token, with a wrong one, from a foreign Origin or Host', async () => {
    const a = await peer('alice', ['--inspect']);
    const token = await tokenOf(a);
    expect(await refusedUpgrade(wsUrl(a))).toMatchObject({
      status: 401,
      json: { code: 'ERR_UNAUTHORIZED' },
    });
    expect(await refusedUpgrade(wsUrl(a, '?token=not-the-token'))).toMatchObject({
      status: 401,
      json: { code: 'ERR_UNAUTHORIZED' },
    });
    expect(
      await refusedUpgrade(wsUrl(a, `?token=${token}`), { origin: 'https://stately.ai' }),
    ).toMatchObject({ status: 403, json: { code: 'ERR_FORBIDDEN_ORIGIN' } });
    expect(
      await refusedUpgrade(wsUrl(a, `?token=${token}`), { host: 'evil.example:7401' }),
    ).toMatchObject({ status: 403, json: { code: 'ERR_FORBIDDEN_HOST' } });
    // the SSE route takes the token only from the Authorization header
    const sse = await http(`${a.p.ready.apiUrl}/api/inspect/events?token=${token}`);
    expect(sse.status).toBe(401);
    // the page itself served from this API may connect
    const own = await openInspectSocket(wsUrl(a, `?token=${token}`), {
      origin: a.p.ready.apiUrl,
    });
    own.close();
  }, 30_000);
});
