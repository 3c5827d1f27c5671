/**
 * The one inbound pattern: a transport (an express route, a socket) turns each request into a typed
 * value on `requests$`; the runtime feeds those into actors; an actor's reply comes back through
 * `respond`/`fail`, matched by request id. No `req`/`res` ever enters a machine.
 *
 * @example
 * const channel = createRequestChannel<{ type: 'info.query' }, PeerInfo>();
 * channel.requests$.subscribe(({ requestId }) => actor.send({ type: 'info.query', requestId }));
 * actor.on('reply', (e) => channel.respond(e.requestId, e.result));
 * const info = await channel.request({ type: 'info.query' }); // in a route
 */
import { randomUUID } from 'node:crypto';
import { Subject, filter, firstValueFrom, take, timeout, throwError, type Observable } from 'rxjs';
import { AppError } from '../errors.js';

export interface RequestEnvelope<TReq> {
  readonly requestId: string;
  readonly request: TReq;
}

type Reply<TRes> =
  | { readonly requestId: string; readonly ok: true; readonly value: TRes }
  | { readonly requestId: string; readonly ok: false; readonly error: AppError };

export interface RequestChannel<TReq, TRes> {
  readonly requests$: Observable<RequestEnvelope<TReq>>;
  /** Send a request and wait for its reply; rejects with ERR_TIMEOUT or the actor's error. */
  request(request: TReq, options?: { timeoutMs?: number }): Promise<TRes>;
  respond(requestId: string, value: TRes): void;
  fail(requestId: string, error: AppError): void;
  /** Fail every later request with ERR_SHUTTING_DOWN and complete the streams. */
  close(): void;
}

export function createRequestChannel<TReq, TRes>(
  init: { defaultTimeoutMs?: number } = {},
): RequestChannel<TReq, TRes> {
  const requests = new Subject<RequestEnvelope<TReq>>();
  const replies = new Subject<Reply<TRes>>();
  const defaultTimeoutMs = init.defaultTimeoutMs ?? 5_000;
  let isClosed = false;

  return {
    requests$: requests.asObservable(),
    async request(request, options) {
      if (isClosed) throw new AppError('ERR_SHUTTING_DOWN', 'the peer is shutting down');
      if (!requests.observed)
        throw new AppError('ERR_NOT_RUNNING', 'the peer runtime is not running');
      const requestId = randomUUID();
      const ms = options?.timeoutMs ?? defaultTimeoutMs;
      const reply = firstValueFrom(
        replies.pipe(
          filter((r) => r.requestId === requestId),
          take(1),
          timeout({
            first: ms,
            with: () => throwError(() => new AppError('ERR_TIMEOUT', `no reply within ${ms} ms`)),
          }),
        ),
      );
      requests.next({ requestId, request });
      const r = await reply;
      if (r.ok) return r.value;
      throw r.error;
    },
    respond(requestId, value) {
      replies.next({ requestId, ok: true, value });
    },
    fail(requestId, error) {
      replies.next({ requestId, ok: false, error });
    },
    close() {
      isClosed = true;
      requests.complete();
      replies.complete();
    },
  };
}
