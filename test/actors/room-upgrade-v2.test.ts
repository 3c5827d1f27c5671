/**
 * A host that ran room machine v2 and restarted at least once has, as the last xstate.init of each
 * room stream, a `restore` input whose context has no `admitted`. After the upgrade to v3 it is
 * restored with none known: fetches, `room members`, leaves and kicks work as before (they used
 * to answer ERR_INTERNAL, throw, and stop the room).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../src/store/event-store.js';
import {
  createRotationNet,
  openRoomOfThree,
  type NetPeer,
  type RotationNet,
  restartFromLog,
  outcomeOf,
} from '../support/rotation-net.js';

let net: RotationNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

const restart = (a: NetPeer, edit?: (e: NewEvent, stream: string) => NewEvent): Promise<NetPeer> =>
  restartFromLog(net as RotationNet, a, edit);

/** What a v2 runtime recorded at its restart: the restored context, without `admitted`. */
const asV2 = (e: NewEvent, stream: string): NewEvent => {
  if (!stream.startsWith('room:') || e.type !== 'xstate.init') return e;
  const data = JSON.parse(JSON.stringify(e.data)) as {
    input?: { restore?: Record<string, unknown> };
  };
  if (data.input?.restore) delete data.input.restore['admitted'];
  return { ...e, data: data, meta: { ...e.meta, machineVersion: 2 } };
};

describe('a v2 host (restarted once under v2) upgraded to v3', () => {
  it('still answers room members, a fetch, and a leave', async () => {
    net = createRotationNet({ deadlineMs: 500 });
    const { a, b, c, roomId } = await openRoomOfThree(net);
    await a.rooms.send(roomId, 'before');
    const a1 = await restart(a); // the v2 runtime's restart: records a restore init
    const a2 = await restart(a1, asV2); // the upgrade: that init lacks `admitted`
    const members = await outcomeOf(Promise.resolve().then(() => a2.rooms.members(roomId)));
    const fetch = await a2.rooms.handleRequest(b.id, {
      method: 'POST',
      path: '/rooms/fetch',
      body: { roomId, after: 0, limit: 100 },
    });
    const leave = await outcomeOf(c.rooms.leave(roomId));
    const sendAfter = await outcomeOf(a2.rooms.send(roomId, 'after the leave'));
    expect({
      members,
      fetch: fetch?.status,
      body: fetch?.status === 200 ? undefined : fetch?.body,
      leave,
      sendAfter,
    }).toEqual({ members: 'ok', fetch: 200, leave: 'ok', sendAfter: 'ok' });
  });
});
