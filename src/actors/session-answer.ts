/**
 * The responder's side of a session's sealed requests: open one, act on it (the session's own
 * paths — re-key, ping, push, poll — or the application's), and seal the answer. Kept apart from
 * `session-delivery.ts`, which moves a session's data, and handed to it as `answer`.
 */
import { isAppError } from '../errors.js';
import { REKEY_PATH, type InnerPush, type InnerResponse } from '../protocol/sealed.codec.js';
import type { PortAnswer } from '../transport/http/peer-api.js';
import type { OpenedRequest } from './session/session-actor.js';
import { ackOf, answerPoll } from './session/push-outbox.js';
import type { AppHandlers, Entry } from './session-delivery.types.js';

/**
 * The `reason` of the answer to a request that was acted on but whose session closed before the
 * answer could be sealed: the requester must not send it again (see `answer`).
 */
export const ANSWER_LOST = 'answer-lost';

function errorAnswer(err: unknown): PortAnswer {
  if (isAppError(err)) return { ok: false, code: err.code, detail: err.message };
  return { ok: false, code: 'ERR_INVALID_MESSAGE', detail: 'request could not be processed' };
}

export function createAnswerer(deps: {
  readonly app: AppHandlers;
  /** A push the peer sent by sealed request (`/push`), handled as one off its link. */
  readonly onPush: (entry: Entry, inner: InnerPush) => void;
}): (entry: Entry, body: unknown) => Promise<PortAnswer> {
  /** What an opened request asks for: the session's own paths, or the application's. */
  async function act(entry: Entry, opened: OpenedRequest): Promise<InnerResponse> {
    const { path } = opened.inner;
    if (path === REKEY_PATH) return entry.session.handleRekey(opened);
    if (path === '/ping') return { status: 200, body: { pong: true } };
    if (path === '/push') {
      const inner = opened.inner.body as InnerPush | undefined;
      if (inner && typeof inner === 'object' && typeof inner.type === 'string')
        deps.onPush(entry, inner);
      return { status: 202, body: {} };
    }
    if (path === '/poll') {
      const ack = ackOf(opened.inner.body);
      const { dropped } = entry.session.info().pushes;
      entry.session.flushPushReports();
      const seal = (inner: InnerPush): Buffer => entry.session.sealPush(inner);
      return {
        status: 200,
        body: answerPoll(entry.outbox, entry.lastQueued ?? 0, ack, seal, dropped),
      };
    }
    let reply: InnerResponse | undefined;
    try {
      reply = await deps.app.request?.(entry.material.peerId, opened.inner);
    } catch (err) {
      reply = isAppError(err)
        ? { status: 400, body: { code: err.code, detail: err.message } }
        : { status: 500, body: { code: 'ERR_INTERNAL', detail: 'request failed' } };
    }
    return reply ?? { status: 404, body: { code: 'ERR_NOT_FOUND' } };
  }

  /**
   * Open a sealed request, act on it, and seal the answer. A session closed before the request
   * opens answers `ERR_UNKNOWN_SESSION`, which tells the requester that nothing was done and that
   * it may send the request again on a new session.
   */
  return async function answer(entry: Entry, body: unknown): Promise<PortAnswer> {
    let opened: OpenedRequest;
    let reply: InnerResponse;
    try {
      opened = entry.session.openRequest(body);
      reply = await act(entry, opened);
    } catch (err) {
      return errorAnswer(err);
    }
    try {
      return { ok: true, body: entry.session.sealResponse(opened, reply) };
    } catch (err) {
      if (!isAppError(err) || err.code !== 'ERR_UNKNOWN_SESSION') return errorAnswer(err);
      // The session closed while the request was acted on (superseded by a new handshake, or
      // expired while the application ran). `ERR_UNKNOWN_SESSION` would tell the requester that
      // the request never arrived, and it would send it again on a new session: the application
      // would act on it twice. This answer is an error it does not retry.
      return {
        ok: false,
        code: 'ERR_PEER_UNREACHABLE',
        detail: 'session closed while answering; the request was received',
        reason: ANSWER_LOST,
      };
    }
  };
}
