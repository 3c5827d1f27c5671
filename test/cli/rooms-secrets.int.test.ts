/**
 * No secret ever enters the event log (ARCHITECTURE.md "Event sourcing", SECURITY.md "Protocol"):
 * after a room scenario with a password, an invite, messages under two epochs and both suites,
 * the whole log of every peer — through `GET /api/log` while it runs, and the durable file log
 * bytes (plus every other file of the data dir outside the keystore) after it stops — holds no
 * room password, no message plaintext, no epoch key, no key-encryption key, no password hash and
 * no identity private key, in raw, hex, base64 or base64url form.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exportPrivateKey } from '../../src/crypto/index.js';
import { createFileKeystore } from '../../src/keystore/file-keystore.js';
import { startDurablePeer, type DurablePeer } from '../support/durable-log.js';
import { testPeers, uniqueMulticastGroup } from '../support/peer-process.js';
import {
  createRoom,
  expectStatus,
  invite,
  joinRoom,
  loopbackClient,
  send,
  waitForMessages,
  waitForRoom,
  type RoomClient,
} from '../support/rooms.js';

const lab = testPeers();
afterEach(() => lab.cleanup());

interface Secret {
  readonly what: string;
  readonly bytes: Buffer;
}

/** Every way a secret could be written down in a log or a JSON document. */
function forms(s: Secret): Array<{ how: string; text: Buffer }> {
  const b = s.bytes;
  const out = [
    { how: 'raw', text: b },
    { how: 'hex', text: Buffer.from(b.toString('hex')) },
    { how: 'HEX', text: Buffer.from(b.toString('hex').toUpperCase()) },
    { how: 'base64', text: Buffer.from(b.toString('base64').replace(/=+$/, '')) },
    { how: 'base64url', text: Buffer.from(b.toString('base64url')) },
    { how: 'byte list', text: Buffer.from(`[${[...b].join(',')}]`) },
  ];
  const json = Buffer.from(JSON.stringify(b.toString('utf8')).slice(1, -1));
  if (!json.equals(b)) out.push({ how: 'json-escaped', text: json });
  return out;
}

function findSecrets(haystack: Buffer, secrets: readonly Secret[], where: string): string[] {
  const hits: string[] = [];
  for (const s of secrets)
    for (const f of forms(s))
      if (haystack.includes(f.text)) hits.push(`${s.what} (${f.how}) in ${where}`);
  return hits;
}

async function filesUnder(dir: string, skip: (name: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (skip(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p, skip)));
    else out.push(p);
  }
  return out;
}

/** The whole log through the local API, page by page. */
async function apiLog(c: RoomClient): Promise<Buffer> {
  const pages: string[] = [];
  let after = 0;
  for (;;) {
    const r = expectStatus(await c.call('GET', `/api/log?after=${after}&limit=5000`), 200, 'log');
    pages.push(JSON.stringify(r.json));
    if (r.json.entries.length === 0 || r.json.scannedTo === after) break;
    after = r.json.scannedTo;
  }
  return Buffer.from(pages.join('\n'));
}

/** Every room secret and the identity key from a stopped peer's keystore. */
async function keystoreSecrets(p: DurablePeer, label: string): Promise<Secret[]> {
  const ks = await createFileKeystore({ dir: join(p.dir, 'keys') });
  try {
    const out: Secret[] = [];
    for (const id of await ks.listSecrets('room.')) {
      const bytes = await ks.getSecret(id);
      if (bytes) out.push({ what: `${label} keystore ${id}`, bytes });
    }
    const identity = await ks.loadOrCreateIdentity('ed25519');
    out.push({ what: `${label} identity private key`, bytes: exportPrivateKey(identity) });
    return out;
  } finally {
    await ks.close();
  }
}

describe('no secret in the event log', () => {
  it('passwords, plaintexts, epoch keys and KEKs appear nowhere in any peer’s log', async () => {
    const group = uniqueMulticastGroup();
    const tag = randomBytes(6).toString('hex');
    const password = `pw-${tag}-correct-horse`;
    const pa = await startDurablePeer(lab, 'alice', ['--multicast', group]);
    const pb = await startDurablePeer(lab, 'bob', ['--multicast', group]);
    const pc = await startDurablePeer(lab, 'carol', ['--no-discovery']);
    const peers = [pa, pb, pc];
    const [a, b, c] = peers.map((p, i) =>
      loopbackClient(['alice', 'bob', 'carol'][i]!, p.p.ready, p.auth),
    ) as [RoomClient, RoomClient, RoomClient];

    const gcm = await createRoom(a, { name: `vault-${tag}`, password });
    const cbc = await createRoom(a, {
      name: `cbc-${tag}`,
      policy: 'invite',
      suite: 'aes-256-cbc-hmac-sha256',
    });
    await waitForRoom(b, (r) => r.name === `vault-${tag}`);
    expectStatus(await joinRoom(b, `vault-${tag}`, { password }), 200, 'bob join');
    expectStatus(await joinRoom(c, gcm.roomId, { invite: await invite(a, gcm.roomId) }), 200, 'c');
    expectStatus(await joinRoom(b, cbc.roomId, { invite: await invite(a, cbc.roomId) }), 200, 'b');

    const texts: string[] = [];
    const say = async (who: RoomClient, roomId: string, text: string): Promise<void> => {
      texts.push(text);
      await send(who, roomId, text);
    };
    for (const [i, who] of [a, b, c].entries())
      await say(who, gcm.roomId, `secret-${tag}-epoch1-${i} from ${who.label}`);
    await say(b, cbc.roomId, `secret-${tag}-cbc ünïcödé ✓ "quoted"`);
    const rot = await a.call('POST', `/api/rooms/${gcm.roomId}/rotate`);
    expect([200, 202]).toContain(rot.status);
    for (const who of [a, b, c])
      await waitForRoom(who, (r) => r.roomId === gcm.roomId && r.epoch === 2, 30_000);
    for (const [i, who] of [a, b, c].entries())
      await say(who, gcm.roomId, `secret-${tag}-epoch2-${i} from ${who.label}`);
    for (const who of [a, b, c]) {
      const rows = await waitForMessages(who, gcm.roomId, (r) => r.length === 6);
      expect(rows.every((r) => r.text !== null)).toBe(true);
    }
    await waitForMessages(a, cbc.roomId, (r) => r.length === 1 && r[0]!.text === texts[3]);

    const logs = await Promise.all([a, b, c].map((x) => apiLog(x)));
    // members first: a host with live inbound push links hangs on SIGTERM (rooms-restart.int.test.ts)
    for (const p of [pc, pb, pa]) expect(await p.p.stop('SIGTERM')).toBe(0);

    const secrets: Secret[] = [
      { what: 'room password', bytes: Buffer.from(password) },
      ...texts.map((t, i) => ({ what: `message ${i} plaintext`, bytes: Buffer.from(t) })),
    ];
    for (const [i, p] of peers.entries()) {
      const ks = await keystoreSecrets(p, ['alice', 'bob', 'carol'][i]!);
      // a positive control: the keys the scan looks for exist (two epochs of the GCM room)
      expect(
        ks.filter((s) => s.what.includes(`room.${gcm.roomId}.e.`)).length,
      ).toBeGreaterThanOrEqual(2);
      expect(ks.some((s) => /\.kek$|\.k\./.test(s.what))).toBe(true);
      secrets.push(...ks);
    }
    expect(secrets.some((s) => s.what.endsWith(`room.${gcm.roomId}.pw`))).toBe(true);

    // the scanner itself finds a planted key in every encoding it claims to look for
    const planted = secrets.find((s) => s.what.includes('.e.'))!;
    for (const f of forms(planted))
      expect(
        findSecrets(
          Buffer.concat([Buffer.from('{"x":"'), f.text, Buffer.from('"}')]),
          [planted],
          'plant',
        ),
      ).not.toEqual([]);

    const hits: string[] = [];
    for (const [i, p] of peers.entries()) {
      const log = logs[i]!;
      // the scan reads the real thing: room events with ciphertexts are in it
      expect(log.includes(`room:${gcm.roomId}`)).toBe(true);
      expect(log.includes('"ct":')).toBe(true);
      hits.push(...findSecrets(log, secrets, `${p.p.ready.name} GET /api/log`));
      const files = await filesUnder(p.dir, (n) => n === 'keys' || n === 'api-token');
      expect(files.some((f) => f.endsWith('events.jsonl'))).toBe(true);
      for (const f of files) hits.push(...findSecrets(await readFile(f), secrets, f));
    }
    expect(hits).toEqual([]);
  }, 120_000);
});
