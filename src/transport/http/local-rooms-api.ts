/**
 * Room routes of the local API (`CONTRACT.md`): list, create, join, leave, invites, members,
 * kick/ban, approve, rotate, send and read. Bodies are checked here with zod; the work is done by
 * the injected rooms port. Message text appears only here, to the token holder.
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors.js';

/** What the routes need from the rooms runtime. */
export interface RoomsPort {
  list(): unknown[];
  create(o: {
    name: string;
    topic?: string;
    policy?: 'open' | 'password' | 'invite' | 'approval';
    password?: string;
    capacity?: number;
    suite?: 'aes-256-gcm' | 'aes-256-cbc-hmac-sha256';
    rotation?: { everyMessages?: number; everyMinutes?: number; keepEpochs?: number };
  }): Promise<unknown>;
  join(ref: string, auth: { password?: string; invite?: string }): Promise<unknown>;
  leave(ref: string): Promise<void>;
  invite(ref: string): Promise<{ code: string; expiresAt: string }>;
  members(ref: string): unknown[];
  kick(ref: string, peerId: string, ban: boolean): Promise<void>;
  approve(ref: string, peerId: string): Promise<unknown>;
  setRole(ref: string, peerId: string, role: 'admin' | 'member'): Promise<unknown>;
  rotate(ref: string): Promise<{ epoch: number; state: string }>;
  send(ref: string, text: string, id?: string): Promise<unknown>;
  messages(ref: string, after: number, limit: number): unknown[];
}

const Name = z.string().trim().min(1).max(64);
const CreateBody = z.strictObject({
  name: Name,
  topic: z.string().max(200).optional(),
  policy: z.enum(['open', 'password', 'invite', 'approval']).optional(),
  password: z.string().min(1).max(256).optional(),
  capacity: z.number().int().min(2).max(5_000).optional(),
  suite: z.enum(['aes-256-gcm', 'aes-256-cbc-hmac-sha256']).optional(),
  rotateEveryMessages: z.number().int().min(1).max(1_000_000).optional(),
  rotateEveryMinutes: z.number().min(0.05).max(525_600).optional(),
  keepEpochs: z.number().int().min(0).max(100).optional(),
});
const JoinBody = z
  .strictObject({
    password: z.string().min(1).max(256).optional(),
    invite: z.string().min(8).max(2_000).optional(),
  })
  .optional();
const SendBody = z.strictObject({
  text: z
    .string()
    .min(1)
    .max(8 * 1024),
  id: z
    .string()
    .min(8)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
    .optional(),
});
const MessagesQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
});
const RoomRef = z.string().min(1).max(128);
const RoleBody = z.strictObject({ role: z.enum(['admin', 'member']) });
const PeerRef = z.string().regex(/^[0-9a-f]{4,64}$/i, 'a peer id or a unique prefix (hex)');

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new AppError(
      'ERR_INVALID_ARGUMENT',
      `bad ${what}${i?.path.length ? ` ${i.path.join('.')}` : ''}: ${i?.message ?? 'invalid'}`,
    );
  }
  return r.data;
}

const room = (req: Request): string => parse(RoomRef, req.params.roomId, 'room');

export function createRoomsRouter(rooms: RoomsPort): Router {
  const r = Router();
  r.get('/api/rooms', (_req, res) => {
    res.json(rooms.list());
  });
  r.post('/api/rooms', async (req, res) => {
    const body = parse(CreateBody, req.body, 'body');
    const { topic, policy, password, capacity, suite } = body;
    const rotation = {
      ...(body.rotateEveryMessages !== undefined
        ? { everyMessages: body.rotateEveryMessages }
        : {}),
      ...(body.rotateEveryMinutes !== undefined ? { everyMinutes: body.rotateEveryMinutes } : {}),
      ...(body.keepEpochs !== undefined ? { keepEpochs: body.keepEpochs } : {}),
    };
    res.status(201).json(
      await rooms.create({
        name: body.name,
        ...(topic !== undefined ? { topic } : {}),
        ...(policy !== undefined ? { policy } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(capacity !== undefined ? { capacity } : {}),
        ...(suite !== undefined ? { suite } : {}),
        rotation,
      }),
    );
  });
  r.post('/api/rooms/:roomId/join', async (req, res) => {
    const body = parse(JoinBody, req.body, 'body') ?? {};
    const joined = (await rooms.join(room(req), {
      ...(body.password !== undefined ? { password: body.password } : {}),
      ...(body.invite !== undefined ? { invite: body.invite } : {}),
    })) as { awaitingApproval?: boolean };
    res.status(joined.awaitingApproval === true ? 202 : 200).json(joined);
  });
  r.post('/api/rooms/:roomId/leave', async (req, res) => {
    await rooms.leave(room(req));
    res.status(204).end();
  });
  r.post('/api/rooms/:roomId/invites', async (req, res) => {
    res.status(201).json(await rooms.invite(room(req)));
  });
  r.get('/api/rooms/:roomId/members', (req, res) => {
    res.json(rooms.members(room(req)));
  });
  r.delete('/api/rooms/:roomId/members/:peerId', async (req, res) => {
    const peerId = parse(PeerRef, req.params.peerId, 'peer id');
    const ban = req.query.ban === 'true' || req.query.ban === '1';
    await rooms.kick(room(req), peerId.toLowerCase(), ban);
    res.status(204).end();
  });
  r.post('/api/rooms/:roomId/requests/:peerId/approve', async (req, res) => {
    const peerId = parse(PeerRef, req.params.peerId, 'peer id');
    res.json(await rooms.approve(room(req), peerId.toLowerCase()));
  });
  r.post('/api/rooms/:roomId/members/:peerId/role', async (req, res) => {
    const peerId = parse(PeerRef, req.params.peerId, 'peer id');
    const body = parse(RoleBody, req.body, 'body');
    res.json(await rooms.setRole(room(req), peerId.toLowerCase(), body.role));
  });
  r.post('/api/rooms/:roomId/rotate', async (req, res) => {
    const out = await rooms.rotate(room(req));
    res.status(out.state === 'committed' ? 200 : 202).json(out);
  });
  r.post('/api/rooms/:roomId/messages', async (req, res) => {
    const body = parse(SendBody, req.body, 'body');
    res.status(201).json(await rooms.send(room(req), body.text, body.id));
  });
  r.get('/api/rooms/:roomId/messages', (req, res) => {
    const q = parse(MessagesQuery, req.query, 'query parameter');
    res.json(rooms.messages(room(req), q.after, q.limit));
  });
  return r;
}
