import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { createRequestChannel } from '../../src/transport/request-channel.js';

describe('request channel', () => {
  it('resolves a request with the reply that carries its id', async () => {
    const ch = createRequestChannel<{ n: number }, number>();
    ch.requests$.subscribe(({ requestId, request }) => {
      ch.respond('someone-else', -1);
      ch.respond(requestId, request.n * 2);
    });
    await expect(ch.request({ n: 21 })).resolves.toBe(42);
  });

  it('rejects with the error the consumer fails it with', async () => {
    const ch = createRequestChannel<string, string>();
    ch.requests$.subscribe(({ requestId }) =>
      ch.fail(requestId, new AppError('ERR_NOT_MEMBER', 'no')),
    );
    await expect(ch.request('x')).rejects.toMatchObject({ code: 'ERR_NOT_MEMBER' });
  });

  it('rejects with ERR_TIMEOUT when nobody replies in time', async () => {
    const ch = createRequestChannel<string, string>();
    ch.requests$.subscribe(() => undefined);
    await expect(ch.request('x', { timeoutMs: 20 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
  });

  it('rejects with ERR_NOT_RUNNING when no consumer is attached', async () => {
    const ch = createRequestChannel<string, string>();
    await expect(ch.request('x')).rejects.toMatchObject({ code: 'ERR_NOT_RUNNING' });
  });

  it('rejects with ERR_SHUTTING_DOWN after close', async () => {
    const ch = createRequestChannel<string, string>();
    ch.requests$.subscribe(() => undefined);
    ch.close();
    await expect(ch.request('x')).rejects.toMatchObject({ code: 'ERR_SHUTTING_DOWN' });
  });
});
