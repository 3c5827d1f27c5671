/**
 * A removal (kick, ban, leave) advances the epoch before anything awaits: the host's KEK shred
 * (overwrite, fsync, unlink on a file keystore) used to run first, and messages sequenced in that
 * window went out under the key the removed member still holds. Each case opens every message
 * sequenced after the removal (log order) with a full dump of the removed member's keys.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createFileKeystore } from '../../src/keystore/file-keystore.js';
import {
  createRotationNet,
  dumpSecrets,
  loggedEnvelopes,
  openWithAny,
  until,
  type NetPeer,
  type RotationNet,
  openRoomOfThree,
} from '../support/rotation-net.js';

let net: RotationNet | undefined;
let dir: string | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function setup() {
  dir = await mkdtemp(join(tmpdir(), 'rot-kick-'));
  net = createRotationNet({ deadlineMs: 2_000 });
  const keystore = await createFileKeystore({ dir, scryptLog2N: 10 });
  const { a, b, c, roomId } = await openRoomOfThree(net, { keystore });
  return { a, b, c, roomId };
}

/** Seq of the last message the host sequenced before it recorded the removal (log order). */
async function seqAtRemoval(a: NetPeer, roomId: string): Promise<number> {
  await a.runtime.writer.flush();
  let seq = 0;
  for (const e of await a.store.readAll({ streamPrefix: `room:${roomId}` })) {
    if (e.stream !== `room:${roomId}`) continue;
    if (e.type === 'member.remove' || e.type === 'member.leave') return seq;
    if (e.type === 'message.sequence') seq = (e.data as { seq: number }).seq;
  }
  throw new Error('no removal in the log');
}

async function checkNoPostRemovalOpens(a: NetPeer, c: NetPeer, roomId: string) {
  await until(() => a.rooms.list().find((r) => r.roomId === roomId)?.epoch === 2, 'epoch 2');
  const cut = await seqAtRemoval(a, roomId);
  const secrets = await dumpSecrets(c);
  const post = (await loggedEnvelopes(a, roomId)).filter((m) => m.seq > cut);
  expect(post.length).toBeGreaterThan(0);
  const opened = post.map((m) => ({
    seq: m.seq,
    epoch: m.env.epoch,
    text: openWithAny(secrets.values(), m.env),
  }));
  expect(opened.filter((m) => m.text !== null)).toEqual([]);
}

it('kick: the host’s own message right after the kick is not readable by the kicked member', async () => {
  const { a, c, roomId } = await setup();
  const kick = a.rooms.kick(roomId, c.id, false);
  const sent = a.rooms.send(roomId, 'secret after kick');
  await kick;
  await sent;
  await checkNoPostRemovalOpens(a, c, roomId);
});

it('kick: a member’s message arriving while the KEK is shredded is not readable by the kicked member', async () => {
  const { a, b, c, roomId } = await setup();
  const kick = a.rooms.kick(roomId, c.id, false);
  const sent = b.rooms.send(roomId, 'bob secret after kick');
  await kick;
  await sent;
  await checkNoPostRemovalOpens(a, c, roomId);
});

it('leave: messages arriving while the leaver’s KEK is shredded are not readable by the leaver', async () => {
  const { a, b, c, roomId } = await setup();
  // bob keeps talking while carol leaves
  let talking = true;
  const chatter = (async () => {
    for (let i = 0; talking; i++) await b.rooms.send(roomId, `bob ${i}`);
  })();
  await new Promise((r) => setTimeout(r, 5));
  await c.rooms.leave(roomId);
  await new Promise((r) => setTimeout(r, 20));
  talking = false;
  await chatter;
  await checkNoPostRemovalOpens(a, c, roomId);
});
