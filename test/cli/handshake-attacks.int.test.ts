/**
 * Attacks on the handshake against a real peer process over real HTTP: a replayed offer (at once,
 * and after the peer restarted with a durable log), a replay with a fresh sid, a re-signed offer,
 * and fuzzed bodies — none of them yields a session, and every answer is a 4xx with a code.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { buildOffer } from '../../src/crypto/handshake-offer.js';
import { generateIdentity, generateX25519KeyPair } from '../../src/crypto/index.js';
import { http } from '../support/http.js';
import { startPeer, testPeers } from '../support/peer-process.js';

const lab = testPeers();
afterEach(() => lab.cleanup());

const post = (url: string, body: unknown) =>
  http(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('handshake attacks against a running peer', () => {
  it('refuses a replayed offer at once and after a restart, and a replay never becomes a session', async () => {
    const dir = await lab.tempDir('victim');
    const args = [
      '--data-dir',
      dir,
      '--store',
      `file:${join(dir, 'log')}`,
      '--port',
      '0',
      '--api-port',
      '0',
      '--no-discovery',
    ];
    const victim = lab.track(await startPeer(args));
    const mallory = await generateIdentity('ed25519');
    const offer = buildOffer({
      identity: mallory,
      sid: randomBytes(16),
      nonce: randomBytes(32),
      ts: Date.now(),
      suites: ['x25519-aes256gcm'],
      to: victim.ready.peerId,
      ephPublic: generateX25519KeyPair().publicKeyRaw,
    });
    const url = `${victim.ready.peerUrl}/p2p/v1/handshake/offer`;
    const first = await post(url, offer);
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    expect(first.json.type).toBe('hs.accept');

    const again = await post(url, offer);
    expect(again.status).toBe(422);
    expect(again.json).toMatchObject({ code: 'ERR_HANDSHAKE_FAILED', reason: 'replayed' });

    // the first accept is never confirmed: no session exists on the victim
    const token = (await readFile(join(dir, 'api-token'), 'utf8')).trim();
    const peersBefore = await http(`${victim.ready.apiUrl}/api/peers`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(peersBefore.json).toEqual([]);

    expect(await victim.stop()).toBe(0);
    const restarted = lab.track(await startPeer(args));
    const afterRestart = await post(`${restarted.ready.peerUrl}/p2p/v1/handshake/offer`, offer);
    expect(afterRestart.status, JSON.stringify(afterRestart.json)).toBe(422);
    expect(afterRestart.json.reason).toBe('replayed');

    // a confirm that does not come from the ephemeral key's holder is refused
    const fakeConfirm = await post(`${restarted.ready.peerUrl}/p2p/v1/handshake/confirm`, {
      v: 1,
      type: 'hs.confirm',
      sid: offer.sid,
      mac: randomBytes(32).toString('base64url'),
    });
    expect(fakeConfirm.status).toBeGreaterThanOrEqual(400);
    expect(fakeConfirm.status).toBeLessThan(500);
  }, 60_000);

  it('refuses an offer whose suites were rewritten after signing (downgrade attempt)', async () => {
    const { p: victim } = await lab.start('victim', ['--no-discovery', '--identity', 'rsa']);
    const mallory = await generateIdentity('ed25519');
    const offer = buildOffer({
      identity: mallory,
      sid: randomBytes(16),
      nonce: randomBytes(32),
      ts: Date.now(),
      suites: ['x25519-aes256gcm'],
      to: null,
      ephPublic: generateX25519KeyPair().publicKeyRaw,
    });
    const r = await post(`${victim.ready.peerUrl}/p2p/v1/handshake/offer`, {
      ...offer,
      suites: ['x25519-aes256gcm', 'rsaoaep-aes256gcm'],
    });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
  }, 60_000);

  it('answers fuzzed handshake and session bodies with 4xx only, and keeps serving', async () => {
    const { p: victim } = await lab.start('victim', ['--no-discovery']);
    const paths = [
      '/p2p/v1/handshake/offer',
      '/p2p/v1/handshake/confirm',
      '/p2p/v1/session/AAAAAAAAAAAAAAAAAAAAAA',
    ];
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.oneof(
          fc.json(),
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify({ v: 1, type: 'hs.offer', x: v })),
        ),
        async (path, body) => {
          const r = await post(`${victim.ready.peerUrl}${path}`, body);
          statuses.add(r.status);
          expect(r.status).toBeGreaterThanOrEqual(400);
          expect(r.status).toBeLessThan(500);
          expect(typeof r.json?.code).toBe('string');
        },
      ),
      { numRuns: 300 },
    );
    expect([...statuses].some((s) => s !== 429)).toBe(true); // bodies reached the parsers, not only the rate limit
    const hello = await http(`${victim.ready.peerUrl}/p2p/v1/hello`);
    expect(hello.status).toBe(200);
    expect(victim.stderr()).not.toMatch(/\n\s+at /);
  }, 90_000);
});
