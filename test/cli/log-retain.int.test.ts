/**
 * A peer on a bounded memory log (`serve --log-retain`): the flag's help and errors, and how
 * `GET /api/log` and `conclave log` say that the start of the log was dropped.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/store/event-store.js';
import { http } from '../support/http.js';
import { runCli, testPeers } from '../support/peer-process.js';

const lab = testPeers();
afterEach(() => lab.cleanup());

describe('conclave serve --log-retain', () => {
  it('is in the help, and refused with a durable store or a bad number (exit 2, one line)', async () => {
    const help = await runCli(['serve', '--help']);
    expect(help.stdout).toContain('--log-retain <MiB>');
    expect(help.stdout).toContain('CONCLAVE_LOG_RETAIN');

    const dir = await lab.tempDir('retain-file');
    const durable = await runCli([
      'serve',
      '--data-dir',
      dir,
      '--store',
      `file:${join(dir, 'log')}`,
      '--log-retain',
      '8',
    ]);
    expect(durable.code).toBe(2);
    expect(durable.stderr).toMatch(
      /--log-retain applies to the memory store only.*ERR_INVALID_CONFIG/,
    );
    expect(durable.stderr.trim().split('\n')).toHaveLength(1);

    const negative = await runCli(['serve', '--volatile', '--log-retain=-1']);
    expect(negative.code).toBe(2);
    expect(negative.stderr).toMatch(/--log-retain .*ERR_INVALID_CONFIG/);
  });

  it('reports the dropped start of the log through the API and conclave log', async () => {
    // About 1 KiB: the peer's own start-up events already overflow it.
    const peer = await lab.start('retain', ['--log-retain', '0.001']);
    const api = peer.p.ready.apiUrl;

    const page = await http(`${api}/api/log?after=0`, { headers: peer.auth });
    expect(page.status).toBe(200);
    const first = page.json.firstPosition as number;
    expect(page.json).toMatchObject({ dropped: true, retainBytes: Math.ceil(0.001 * 1024 * 1024) });
    expect(first).toBeGreaterThan(1);
    expect(page.json.entries[0].position).toBe(first);
    const inside = await http(`${api}/api/log?after=${first - 1}`, { headers: peer.auth });
    expect(inside.json).not.toHaveProperty('dropped');
    expect(inside.json).not.toHaveProperty('firstPosition');

    const json = await runCli(['log', '--json', '--data-dir', peer.dir]);
    expect(json.code, json.stderr).toBe(0);
    const notice = JSON.parse(json.stderr.trim()) as { dropped: boolean; firstPosition: number };
    expect(notice).toMatchObject({ dropped: true, retainBytes: 1049 });
    const entries = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RecordedEvent);
    expect(entries[0]?.position).toBe(notice.firstPosition);

    const human = await runCli(['log', '--data-dir', peer.dir]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stderr.trim()).toMatch(
      /^events before position \d+ were dropped: the volatile log keeps the newest 1 KiB \(conclave serve --log-retain\)$/,
    );
  });
});
