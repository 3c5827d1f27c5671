/**
 * The room requests a peer sends this host inside its session (`/rooms/join|leave|fetch|send|
 * admin`): decoded with the wire schemas, handed to the host half, answered with a status and a
 * stable code. A join or a send is answered only once the log holds it durably.
 */
import { AppError } from '../../errors.js';
import {
  AdminRequestSchema,
  decodeWith,
  EnvelopeSchema,
  FetchRequestSchema,
  JoinRequestSchema,
  RoomRefSchema,
} from '../../protocol/room.codec.js';
import type { InnerRequest, InnerResponse } from '../../protocol/sealed.codec.js';
import type { RoomHost } from './room-host.types.js';
import type { RoomsCore } from './rooms-core.js';

const ok = (body: unknown = {}): InnerResponse => ({ status: 200, body });
const bad = (detail: string): InnerResponse => ({
  status: 400,
  body: { code: 'ERR_INVALID_MESSAGE', detail },
});

function errorResponse(err: unknown): InnerResponse {
  if (err instanceof AppError) {
    const status = err.code === 'ERR_NOT_FOUND' ? 404 : err.code === 'ERR_TIMEOUT' ? 504 : 403;
    return { status, body: { code: err.code, detail: err.message } };
  }
  return {
    status: 500,
    body: { code: 'ERR_INTERNAL', detail: 'the host could not process the request' },
  };
}

export async function dispatchRoomRequest(
  host: RoomHost,
  core: RoomsCore,
  from: string,
  inner: InnerRequest,
): Promise<InnerResponse> {
  try {
    switch (inner.path) {
      case '/rooms/join': {
        const r = decodeWith(JoinRequestSchema, inner.body);
        if (!r.ok) return bad(r.error.detail);
        const out = await host.join(from, r.value);
        await core.durable();
        return out.state === 'pending'
          ? { status: 202, body: { state: 'pending', room: out.room } }
          : ok(out.grant);
      }
      case '/rooms/leave': {
        const r = decodeWith(RoomRefSchema, inner.body);
        if (!r.ok) return bad(r.error.detail);
        await host.leave(from, r.value.roomId);
        return ok();
      }
      case '/rooms/fetch': {
        const r = decodeWith(FetchRequestSchema, inner.body);
        if (!r.ok) return bad(r.error.detail);
        return ok(await host.fetch(from, r.value.roomId, r.value.after, r.value.limit));
      }
      case '/rooms/send': {
        const r = decodeWith(EnvelopeSchema, inner.body);
        if (!r.ok) return bad(r.error.detail);
        const { seq } = host.sequence(from, r.value);
        await core.durable();
        return ok({ seq });
      }
      case '/rooms/admin': {
        const r = decodeWith(AdminRequestSchema, inner.body);
        if (!r.ok) return bad(r.error.detail);
        return ok(await host.admin(from, r.value));
      }
      default:
        return { status: 404, body: { code: 'ERR_NOT_FOUND', detail: 'no such room request' } };
    }
  } catch (err) {
    return errorResponse(err);
  }
}
