/**
 * `readStreamEvents`/`readAllStreams` (what `log replay` and `log export` read) against the real
 * local API over a bounded memory store: they say when the start of the log was dropped.
 */
import { EMPTY } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  droppedNotice,
  readAllStreams,
  readStreamEvents,
  type DroppedRange,
  type SourceOpts,
} from '../../src/cli/log-source.js';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';
import { listenHttp, type HttpListener } from '../../src/transport/http/http-server.js';
import { createLocalApi, type LocalRequest } from '../../src/transport/http/local-api.js';
import { createRequestChannel } from '../../src/transport/request-channel.js';
import { anEvent } from '../store/event-store.contract.js';

const TOKEN = 'test-token-0123456789abcdef0123456789abcdef';

describe('log sources over a bounded memory log', () => {
  let api: HttpListener;
  let opts: SourceOpts;
  const store = createMemoryEventStore({ retainBytes: 4_000 });

  beforeAll(async () => {
    await store.append('old', [anEvent('T'), anEvent('T')]);
    for (let i = 0; i < 60; i++)
      await store.append('busy', [anEvent('T', { pad: 'x'.repeat(80) })]);
    await store.append('fresh', [anEvent('T')]);
    let port = 0;
    api = await listenHttp(
      createLocalApi({
        token: TOKEN,
        getPort: () => port,
        channel: createRequestChannel<LocalRequest, unknown>(),
        log: store,
        health: () => ({ status: 'ok' }),
        peers: () => [],
        feed: () => EMPTY,
        actors: () => [],
        metrics: () => '',
        discoveryDiagnostics: () => ({ enabled: false }),
        onUnexpected: () => undefined,
      }),
      { host: '127.0.0.1', port: 0 },
    );
    port = api.port;
    opts = { dataDir: '/nonexistent', api: api.url, token: TOKEN, json: false };
  });
  afterAll(async () => {
    await api.close();
    await store.close();
  });

  it('says so for a stream that lost its first events, not for one that is whole', async () => {
    const first = await store.firstPosition();
    expect(first).toBeGreaterThan(3);
    const heard: DroppedRange[] = [];
    const busy = await readStreamEvents(opts, 'busy', undefined, (d) => heard.push(d));
    expect(busy[0]?.position).toBe(first);
    expect(heard).toEqual([{ firstPosition: first, retainBytes: 4_000 }]);

    heard.length = 0;
    expect(await readStreamEvents(opts, 'fresh', undefined, (d) => heard.push(d))).toHaveLength(1);
    expect(heard).toEqual([]);
  });

  it('says so once when reading the whole log', async () => {
    const heard: DroppedRange[] = [];
    const streams = await readAllStreams(opts, undefined, (d) => heard.push(d));
    expect([...streams.keys()].sort()).toEqual(['busy', 'fresh']);
    expect(heard).toEqual([{ firstPosition: await store.firstPosition(), retainBytes: 4_000 }]);
  });

  it('words the notice with the budget when the peer reports one', () => {
    expect(droppedNotice({ firstPosition: 812, retainBytes: 32 * 1024 * 1024 })).toBe(
      'events before position 812 were dropped: the volatile log keeps the newest 32 MiB (conclave serve --log-retain)',
    );
    expect(droppedNotice({ firstPosition: 9 })).toContain('keeps the newest events');
  });
});
