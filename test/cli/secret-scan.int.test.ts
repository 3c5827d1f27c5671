/**
 * No secret ever reaches the event log, an export, or the local API's diagnostic views.
 *
 * Three peers run in this process (the real `servePeer` composition: file keystores, file logs,
 * discovery on loopback), open an X25519 session and an RSA-OAEP session, and exchange sealed
 * requests and push frames past the re-key threshold. Every secret this test can get hold of is
 * collected: identity private keys and the RSA transport key from the keystores on disk, the API
 * tokens, and — by wrapping the key-derivation primitives — every handshake secret, chain key,
 * message key, re-key secret and ephemeral private key derived while they ran. Then the raw log
 * files, every stream read back, every stream exported as a trace (in-process and through the
 * CLI), and GET /api/metrics, /api/actors, /api/log, /api/peers, /api/info, /api/health,
 * /api/diagnostics/discovery and /api/events are scanned for those bytes as raw, hex, base64 and
 * base64url. None may be found.
 */
import { createPrivateKey } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { traceLines } from '../../src/cli/commands/log-export.js';
import type * as HashModule from '../../src/crypto/hash.js';
import type * as HkdfModule from '../../src/crypto/hkdf.js';
import type * as RsaOaepModule from '../../src/crypto/rsa-oaep.js';
import type * as X25519Module from '../../src/crypto/x25519.js';
import { servePeer, type RunningPeer } from '../../src/cli/serve.js';
import { resolveServeConfig } from '../../src/cli/serve-config.js';
import { createFileKeystore } from '../../src/keystore/file-keystore.js';
import { openEventStore } from '../../src/store/open-event-store.js';
import { http } from '../support/http.js';
import { runCli, testPeers, uniqueMulticastGroup } from '../support/peer-process.js';
import {
  findLeaks,
  MIN_SECRET_BYTES,
  privateKeySecrets,
  type Haystack,
  type Secret,
} from '../support/secret-scan.js';

/** Secrets derived while the peers run, captured where they are made. */
const derived = vi.hoisted(() => {
  const list: Array<{ name: string; bytes: Buffer }> = [];
  return {
    list,
    capture(name: string, v: unknown): void {
      if (v instanceof Uint8Array && v.byteLength > 0) list.push({ name, bytes: Buffer.from(v) });
    },
  };
});

vi.mock('../../src/crypto/hkdf.js', async (importOriginal) => {
  const m = await importOriginal<typeof HkdfModule>();
  return {
    ...m,
    hkdfSha256: (...a: Parameters<typeof m.hkdfSha256>) => {
      const out = m.hkdfSha256(...a);
      const [ikm, , info] = a;
      // The SAS is derived from the (public) transcript hash and shown to users: not a secret.
      if (info !== m.Labels.sas) {
        const label = typeof info === 'string' ? info : 'bytes label';
        derived.capture(`hkdf ikm (${label})`, ikm);
        derived.capture(`hkdf output (${label})`, out);
      }
      return out;
    },
  };
});

vi.mock('../../src/crypto/hash.js', async (importOriginal) => {
  const m = await importOriginal<typeof HashModule>();
  return {
    ...m,
    hmacSha256: (...a: Parameters<typeof m.hmacSha256>) => {
      const out = m.hmacSha256(...a);
      derived.capture('hmac key (chain or confirm key)', a[0]);
      // the symmetric ratchet: HMAC(ck, 0x01) is a message key, HMAC(ck, 0x02) the next chain key
      if (a[1] instanceof Uint8Array && a[1].byteLength === 1)
        derived.capture('ratchet output', out);
      return out;
    },
  };
});

vi.mock('../../src/crypto/x25519.js', async (importOriginal) => {
  const m = await importOriginal<typeof X25519Module>();
  return {
    ...m,
    generateX25519KeyPair: () => {
      const pair = m.generateX25519KeyPair();
      // PKCS#8 DER (16-byte prefix, then the raw key), not JWK: a JWK export of a key fresh out
      // of keygen can deadlock Node 20 (see test/crypto/x25519-keygen-gc.test.ts).
      const der = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
      derived.capture('x25519 ephemeral private key', der.subarray(der.length - 32));
      return pair;
    },
    x25519SharedSecret: (...a: Parameters<typeof m.x25519SharedSecret>) => {
      const out = m.x25519SharedSecret(...a);
      derived.capture('x25519 shared secret', out);
      return out;
    },
  };
});

vi.mock('../../src/crypto/rsa-oaep.js', async (importOriginal) => {
  const m = await importOriginal<typeof RsaOaepModule>();
  return {
    ...m,
    rsaWrapKey: (...a: Parameters<typeof m.rsaWrapKey>) => {
      derived.capture('rsa-transported secret', a[1]);
      return m.rsaWrapKey(...a);
    },
    rsaUnwrapKey: (...a: Parameters<typeof m.rsaUnwrapKey>) => {
      const out = m.rsaUnwrapKey(...a);
      derived.capture('rsa-transported secret (unwrapped)', out);
      return out;
    },
  };
});

const lab = testPeers();
afterAll(() => lab.cleanup());

interface InProcessPeer {
  readonly name: string;
  readonly dir: string;
  readonly identity: 'ed25519' | 'rsa';
  readonly running: RunningPeer;
  readonly auth: Record<string, string>;
  readonly token: string;
}

async function start(
  name: string,
  identity: 'ed25519' | 'rsa',
  group: string,
): Promise<InProcessPeer> {
  const dir = await lab.tempDir(name);
  const config = resolveServeConfig({
    name,
    dataDir: dir,
    host: '127.0.0.1',
    port: 0,
    apiPort: 0,
    store: `file:${join(dir, 'log')}`,
    identity,
    // RSA peers cannot beacon today (an RSA beacon exceeds the 1200-byte limit), so they
    // run without discovery; the Ed25519 peer beacons on loopback.
    discovery: identity === 'ed25519',
    multicast: group,
    interface: 'lo',
    trust: 'tofu',
    logLevel: 'silent',
    rekeyAfter: 4,
  });
  const running = await servePeer(config, {
    stdout: () => undefined,
    stderr: () => undefined,
    logger: pino({ level: 'silent' }),
  });
  const token = (await readFile(join(dir, 'api-token'), 'utf8')).trim();
  return { name, dir, identity, running, token, auth: { authorization: `Bearer ${token}` } };
}

const api = (p: InProcessPeer, path: string, body?: unknown) =>
  http(`${p.running.ready.apiUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...p.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** The SSE feed for a moment (everything since the start is replayed to a new subscriber). */
async function readEvents(p: InProcessPeer): Promise<string> {
  const ac = new AbortController();
  const res = await fetch(`${p.running.ready.apiUrl}/api/events`, {
    headers: p.auth,
    signal: ac.signal,
  });
  setTimeout(() => ac.abort(), 500);
  let text = '';
  const reader = res.body!.getReader();
  for (;;) {
    const r = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (r.done) return text;
    text += new TextDecoder().decode(r.value);
  }
}

/** Every entry of GET /api/log, page by page. */
async function readApiLog(p: InProcessPeer): Promise<string[]> {
  const pages: string[] = [];
  let after = 0;
  for (;;) {
    const r = await api(p, `/api/log?after=${after}&limit=5000`);
    expect(r.status).toBe(200);
    if (r.json.entries.length === 0) return pages;
    pages.push(r.text);
    after = r.json.scannedTo;
  }
}

/** What the running peer serves on its local API. */
async function liveViews(p: InProcessPeer): Promise<Haystack[]> {
  const views: Haystack[] = [];
  for (const path of [
    '/api/metrics',
    '/api/actors',
    '/api/peers',
    '/api/info',
    '/api/health',
    '/api/diagnostics/discovery',
  ]) {
    const r = await api(p, path);
    expect(r.status, path).toBe(200);
    views.push({ where: `${p.name} GET ${path}`, data: r.text });
  }
  (await readApiLog(p)).forEach((data, i) =>
    views.push({ where: `${p.name} GET /api/log page ${i}`, data }),
  );
  views.push({ where: `${p.name} GET /api/events`, data: await readEvents(p) });
  return views;
}

/** The raw log files, every stream read back, and every stream exported as a trace. */
async function storedViews(p: InProcessPeer): Promise<{ views: Haystack[]; events: number }> {
  const views: Haystack[] = [];
  const logDir = join(p.dir, 'log');
  for (const f of await readdir(logDir))
    views.push({ where: `${p.name} ${f}`, data: await readFile(join(logDir, f)) });
  const store = await openEventStore(`file:${logDir}`);
  let events = 0;
  try {
    for (const { stream } of await store.listStreams()) {
      const list = await store.readStream(stream);
      events += list.length;
      views.push({ where: `${p.name} stream ${stream}`, data: JSON.stringify(list) });
      views.push({
        where: `${p.name} export ${stream}`,
        data: traceLines(stream, list, new Date()).join('\n'),
      });
    }
  } finally {
    await store.close();
  }
  return { views, events };
}

/** What the keystore on disk holds: the identity and, for RSA peers, the transport key. */
async function keystoreSecrets(p: InProcessPeer): Promise<Secret[]> {
  const ks = await createFileKeystore({ dir: join(p.dir, 'keys') });
  try {
    const me = await ks.loadOrCreateIdentity(p.identity);
    const out = privateKeySecrets(`${p.name} identity`, me.privateKey);
    const transport = await ks.getSecret('rsa-transport');
    if (transport) {
      const key = createPrivateKey({ key: transport, format: 'der', type: 'pkcs8' });
      out.push(...privateKeySecrets(`${p.name} rsa transport key`, key));
    }
    return out;
  } finally {
    await ks.close();
  }
}

describe('secrets never leave the keystore and the session objects', () => {
  it('the scanner finds a secret in every form it could leak in', () => {
    const secret: Secret = {
      name: 's',
      bytes: Buffer.from('00112233445566778899aabbccddeeff0102030405', 'hex'),
    };
    const pad = Buffer.from('xyz');
    const forms: Haystack[] = [
      { where: 'raw', data: Buffer.concat([pad, secret.bytes, pad]) },
      { where: 'hex', data: `"k":"ab${secret.bytes.toString('hex')}"` },
      { where: 'HEX', data: secret.bytes.toString('hex').toUpperCase() },
      { where: 'a part', data: secret.bytes.subarray(3, 19).toString('hex') },
      ...[0, 1, 2].flatMap((n) => [
        {
          where: `base64+${n}`,
          data: Buffer.concat([Buffer.alloc(n, 7), secret.bytes]).toString('base64'),
        },
        {
          where: `base64url+${n}`,
          data: Buffer.concat([Buffer.alloc(n, 250), secret.bytes]).toString('base64url'),
        },
      ]),
    ];
    for (const f of forms) expect(findLeaks([f], [secret]), f.where).not.toEqual([]);
    expect(
      findLeaks([{ where: 'clean', data: 'nothing to see here, 0011223344' }], [secret]),
    ).toEqual([]);
  });

  it('finds none in the log, exports, metrics, actors, events or log API', async () => {
    const group = uniqueMulticastGroup();
    const alice = await start('alice', 'ed25519', group);
    const bob = await start('bob', 'rsa', group);
    const carol = await start('carol', 'rsa', group);
    const peers = [alice, bob, carol];
    const bobId = bob.running.ready.peerId;

    const x = await api(alice, '/api/peers/connect', { url: bob.running.ready.peerUrl });
    expect(x.status, JSON.stringify(x.json)).toBe(200);
    expect(x.json.suite).toBe('x25519-aes256gcm');
    const r = await api(carol, '/api/peers/connect', {
      url: bob.running.ready.peerUrl,
      suites: ['rsaoaep-aes256gcm'],
    });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.suite).toBe('rsaoaep-aes256gcm');
    let epoch = 0;
    for (const from of [alice, carol]) {
      for (let n = 0; n < 10; n++) {
        const ping = await api(
          from,
          `/api/peers/${bobId}/ping?via=${n % 2 ? 'push' : 'request'}`,
          {},
        );
        expect(ping.status, JSON.stringify(ping.json)).toBe(200);
        epoch = Math.max(epoch, ping.json.epoch as number);
      }
    }
    expect(epoch, 'sessions re-keyed').toBeGreaterThanOrEqual(1);

    const haystacks: Haystack[] = [];
    for (const p of peers) haystacks.push(...(await liveViews(p)));
    const cli = await runCli(['log', 'export', '--stream', `peer:${bobId}`, '--data-dir', bob.dir]);
    expect(cli.code, cli.stderr).toBe(0);
    haystacks.push({ where: 'bob CLI export', data: cli.stdout });

    const metrics = haystacks.find((h) => h.where === 'bob GET /api/metrics')!.data as string;
    expect(metrics).toMatch(/conclave_log_append_seconds_count [1-9]/);
    expect(metrics).toContain('conclave_handshakes_total{role="responder",result="established"} 2');
    expect(metrics).toContain(
      'conclave_handshakes_total{role="responder",result="bad-signature"} 0',
    );

    // requesters first: a peer still holding an accepted session link does not finish stopping
    for (const p of [alice, carol, bob]) await p.running.shutdown('test');

    let events = 0;
    for (const p of peers) {
      const stored = await storedViews(p);
      haystacks.push(...stored.views);
      events += stored.events;
    }
    const secrets: Secret[] = [...derived.list];
    for (const p of peers) {
      secrets.push(...(await keystoreSecrets(p)));
      secrets.push({ name: `${p.name} api token`, bytes: Buffer.from(p.token, 'base64url') });
      secrets.push({ name: `${p.name} api token text`, bytes: Buffer.from(p.token) });
    }

    // the scan is only worth something if it had secrets and data to look at
    const kinds = new Set(secrets.map((s) => s.name.replace(/^(alice|bob|carol) /, '')));
    for (const k of [
      'identity pkcs8',
      'identity component 0',
      'rsa transport key component 5',
      'x25519 ephemeral private key',
      'x25519 shared secret',
      'rsa-transported secret',
      'hkdf output (conclave/v1 session)',
      'hkdf output (conclave/v1 session-rekey)',
      'ratchet output',
    ])
      expect([...kinds], k).toContain(k);
    expect(secrets.filter((s) => s.bytes.length >= MIN_SECRET_BYTES).length).toBeGreaterThan(100);
    expect(events).toBeGreaterThan(50);
    expect(haystacks.length).toBeGreaterThan(40);

    // a positive control in the same data: one chain key written into a log entry is found
    const chainKey = secrets.find((s) => s.name === 'hkdf output (conclave/v1 session)')!;
    const planted = {
      where: 'planted',
      data: JSON.stringify({ data: { x: chainKey.bytes.subarray(40, 72).toString('base64') } }),
    };
    expect(findLeaks([planted], secrets)).not.toEqual([]);

    expect(findLeaks(haystacks, secrets)).toEqual([]);
  }, 120_000);
});
