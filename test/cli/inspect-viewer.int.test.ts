/**
 * The bundled inspector page in a real headless Chromium (Debian's, driven by playwright-core):
 * two peers run with --inspect, the page opens at the URL `conclave inspect` prints, the peers
 * handshake, and the page must show the actor tree, the handshake's state, timeline entries and a
 * statechart with the active state highlighted, all from the loopback API alone. A screenshot is
 * saved for a human to look at.
 *
 * Without Chromium the test skips loudly; CI installs it (`.ci/run`).
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, testPeers } from '../support/peer-process.js';

const CHROMIUM = process.env.CONCLAVE_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `*** INSPECTOR PAGE BROWSER TEST: SKIPPED (no Chromium at ${CHROMIUM}; install it with "apt-get install -y chromium" or set CONCLAVE_CHROMIUM) ***`,
  );
}

const lab = testPeers();
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  browser = undefined;
  await lab.cleanup();
});

describe.skipIf(!hasChromium)('inspector page in headless Chromium', () => {
  it('shows the actor tree, states, the timeline and a live statechart of a real handshake', async () => {
    const a = await lab.start('alice', ['--no-discovery', '--inspect']);
    const b = await lab.start('bob', ['--no-discovery', '--inspect']);
    const printed = await runCli(['inspect', '--data-dir', a.dir, '--json']);
    expect(printed.code, printed.stderr).toBe(0);
    const { url } = JSON.parse(printed.stdout) as { url: string };

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    const problems: string[] = [];
    const foreign: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(msg.text());
    });
    page.on('response', (res) => {
      if (res.status() >= 400) problems.push(`${res.status()} ${res.url()}`);
    });
    page.on('request', (req) => {
      if (!req.url().startsWith(a.p.ready.apiUrl)) foreign.push(req.url());
    });

    await page.goto(url);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 15_000 });
    // the token left the address bar as soon as the page read it
    expect(page.url()).not.toContain('token');
    await page.waitForSelector('#actor-tree [data-session-id] .machine');
    expect(await page.locator('#actor-tree .machine').allTextContents()).toEqual(
      expect.arrayContaining(['peer', 'discovery', 'trust']),
    );
    await expect.poll(() => page.locator('#peer').textContent()).toContain('alice');

    const c = await runCli(['connect', b.p.ready.peerUrl, '--data-dir', a.dir, '--json']);
    expect(c.code, c.stderr).toBe(0);
    const handshake = page.locator('#actor-tree .node', { hasText: 'handshake-requester' });
    await handshake.waitFor({ timeout: 15_000 });
    await page.locator('#actor-tree .node', { hasText: 'session' }).first().waitFor();
    await handshake.click();

    await expect.poll(() => page.locator('#actor-state').textContent()).toBe('established');
    expect(await page.locator('#actor-status').textContent()).toBe('done');
    expect(await page.locator('#actor-context').textContent()).toContain('"sas"');
    const active = page.locator('#chart svg rect.state.active');
    await expect.poll(() => active.count()).toBe(1);
    expect(await active.getAttribute('data-state')).toBe('established');
    expect(await page.locator('#chart svg rect.state').count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator('#chart svg path.edge').count()).toBeGreaterThanOrEqual(3);
    const labels = await page.locator('#chart svg text.edge-label').allTextContents();
    expect(labels.join(' ')).toContain('offer.sent');

    const timeline = page.locator('#timeline li');
    await expect.poll(() => timeline.count()).toBeGreaterThan(5);
    const entries = (await timeline.allTextContents()).join('\n');
    expect(entries).toContain('done.received → established');
    expect(entries).toContain('handshake-requester');

    const dir = await lab.tempDir('inspector-shot');
    const file = join(process.env.CONCLAVE_SCREENSHOT_DIR ?? dir, 'inspector.png');
    await page.screenshot({ path: file, fullPage: true });
    expect((await stat(file)).size).toBeGreaterThan(0);

    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
  }, 90_000);
});
