/**
 * A member's sends: seal and sign under the current epoch, hand the envelope to the host (over
 * the link, answered by the message coming back sequenced or by a refusal; otherwise by sealed
 * request), reseal once under a new key when a rotation moved the room on, and answer a repeated
 * id with the first result (in flight or recently finished).
 */
import { randomBytes } from 'node:crypto';
import type { MessageHeader } from '../../crypto/room.js';
import { MAX_SIGN_BATCH, signMessages } from '../../crypto/room-batch-sign.js';
import { AppError, type ErrorCode } from '../../errors.js';
import { MAX_TEXT_BYTES, type Envelope } from '../../protocol/room.codec.js';
import type { InnerResponse } from '../../protocol/sealed.codec.js';
import { ctxOf, messageBySeq, seqOfId, stateOf, type RoomHandle } from './room-handle.js';
import type { RoomHost } from './room-host.types.js';
import type { RoomsCore } from './rooms-core.js';

const ACK_TIMEOUT_MS = 15_000;
/** Finished sends remembered for idempotent repeats. */
const MAX_SENT = 10_000;
/** First stamps remembered, newest first kept (~100 bytes each). */
const MAX_STAMPS = 50_000;

export interface SendResult {
  readonly id: string;
  readonly seq: number;
  readonly epoch: number;
  readonly sentAt: string;
}

type Answer = { seq?: number; code?: string; detail?: string };

export interface RoomSender {
  send(h: RoomHandle, text: string, id?: string): Promise<SendResult>;
  /** The host's answer to one of our sends: our message sequenced, or a refusal. */
  settle(roomId: string, id: string, answer: Answer): void;
  /** A message of ours from before a restart: a retry of its id keeps this stamp. */
  rememberStamp(roomId: string, id: string, sentAt: string): void;
}

export function failed(r: InnerResponse, what: string): never {
  const b = (r.body ?? {}) as { code?: string; detail?: string };
  throw new AppError(
    (b.code as ErrorCode | undefined) ?? 'ERR_PEER_UNREACHABLE',
    b.detail ?? `${what}: the host answered ${r.status}`,
  );
}

interface Unsigned {
  readonly header: MessageHeader;
  readonly ct: Buffer;
  resolve(env: Envelope): void;
  reject(err: unknown): void;
}

export function createRoomSender(
  core: RoomsCore,
  host: RoomHost,
  io: {
    ask(h: RoomHandle, path: string, body: unknown): Promise<InnerResponse>;
    catchUp(h: RoomHandle): Promise<void>;
  },
): RoomSender {
  const { deps, keys, self } = core;
  const acks = new Map<string, (a: Answer) => void>();
  /** Sends by `roomId|id`: in flight (joined by a repeat) and recently finished (answered again). */
  const inFlight = new Map<string, Promise<SendResult>>();
  const sent = new Map<string, SendResult>();
  /**
   * When each recent message id was first stamped (`roomId|id` → sentAt). A retry of the same id
   * keeps its first stamp, so the host either finds the id (same answer) or, past its dedupe
   * window, refuses the stale stamp — a retry is never sequenced as a second message.
   */
  const stampedAt = new Map<string, string>();

  /** Messages sealed this tick, by room and epoch, waiting for one signature per batch. */
  const unsigned = new Map<string, Unsigned[]>();
  let signScheduled = false;

  function stampOf(roomId: string, id: string): string {
    const known = stampedAt.get(`${roomId}|${id}`);
    if (known !== undefined) return known;
    const at = core.at();
    rememberStamp(roomId, id, at);
    return at;
  }

  function rememberStamp(roomId: string, id: string, sentAt: string): void {
    stampedAt.set(`${roomId}|${id}`, sentAt);
    if (stampedAt.size > MAX_STAMPS) stampedAt.delete(stampedAt.keys().next().value as string);
  }

  /**
   * Seal a message now and sign it at the end of the tick, with every other message sealed
   * meanwhile for the same room and epoch: one signature per batch of up to MAX_SIGN_BATCH (a
   * Merkle root; each envelope carries its path), as `signMessage` does when it is alone.
   */
  function sealEnvelope(h: RoomHandle, text: string, id: string): Promise<Envelope> {
    const ctx = ctxOf(h);
    const header = {
      roomId: h.roomId,
      epoch: ctx.epoch,
      sender: self,
      id,
      sentAt: stampOf(h.roomId, id),
      suite: ctx.suite,
    };
    const plain = Buffer.from(JSON.stringify({ text }), 'utf8');
    const ct = keys.cipher(h.roomId, ctx.epoch, self, ctx.suite).seal(header, plain);
    return new Promise((resolve, reject) => {
      const k = `${h.roomId}|${ctx.epoch}`;
      const list = unsigned.get(k);
      const item = { header, ct, resolve, reject };
      if (list) list.push(item);
      else unsigned.set(k, [item]);
      if (!signScheduled) {
        signScheduled = true;
        setImmediate(signPending);
      }
    });
  }

  function signPending(): void {
    signScheduled = false;
    const groups = [...unsigned.values()];
    unsigned.clear();
    for (const group of groups)
      for (let at = 0; at < group.length; at += MAX_SIGN_BATCH) {
        const part = group.slice(at, at + MAX_SIGN_BATCH);
        try {
          const sigs = signMessages(deps.identity.privateKey, part);
          part.forEach((p, i) => {
            const s = sigs[i] as { sig: Buffer; batch?: Envelope['batch'] };
            p.resolve({
              ...p.header,
              ct: p.ct.toString('base64url'),
              sig: s.sig.toString('base64url'),
              ...(s.batch ? { batch: s.batch } : {}),
            });
          });
        } catch (err) {
          for (const p of part) p.reject(err);
        }
      }
  }

  function awaitAck(key: string): Promise<{ seq?: number; code?: string; detail?: string }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        acks.delete(key);
        reject(
          new AppError(
            'ERR_TIMEOUT',
            'the host did not acknowledge the message in 15 s; send again with the same id',
          ),
        );
      }, ACK_TIMEOUT_MS);
      acks.set(key, (a) => {
        clearTimeout(timer);
        acks.delete(key);
        resolve(a);
      });
    });
  }

  /** Hand an envelope to the host: over the link (acked by push) or by sealed request. */
  async function deliverEnvelope(h: RoomHandle, env: Envelope): Promise<number> {
    const ctx = ctxOf(h);
    if (ctx.isHost) {
      const { seq } = host.sequence(self, env);
      await core.durable();
      return seq;
    }
    if (deps.sessions.isLinkUp(ctx.host)) {
      const key = `${h.roomId}|${env.id}`;
      const ack = awaitAck(key);
      // A push that throws settles the ack waiter too (else its timer would reject unheard) and
      // falls back to a sealed request below, like a push that did not go over the link.
      const how = await deps.sessions
        .push(ctx.host, { type: 'room.send', env })
        .catch(() => 'failed' as const);
      if (how === 'link') {
        const a = await ack;
        if (a.seq !== undefined) return a.seq;
        throw new AppError(
          (a.code as ErrorCode | undefined) ?? 'ERR_INTERNAL',
          a.detail ?? 'refused',
        );
      }
      acks.get(key)?.({});
      await ack;
    }
    const r = await io.ask(h, '/rooms/send', env);
    if (r.status !== 200) failed(r, 'send');
    return (r.body as { seq: number }).seq;
  }

  /** Seal and hand over a message not sent before. */
  async function sendNew(h: RoomHandle, text: string, msgId: string): Promise<SendResult> {
    const ctx = ctxOf(h);
    if (!keys.hasEpoch(h.roomId, ctx.epoch)) {
      await io.catchUp(h).catch(() => undefined);
      if (!keys.hasEpoch(h.roomId, ctxOf(h).epoch))
        throw new AppError(
          'ERR_MISSING_KEY',
          'this peer has not received the current room key yet; try again shortly',
        );
    }
    let env = await sealEnvelope(h, text, msgId);
    let seq: number;
    try {
      seq = await deliverEnvelope(h, env);
    } catch (err) {
      // A rotation moved the room on (a removal refuses the old key at once): take the new
      // key and send again under it, same id.
      if (!(err instanceof AppError) || err.code !== 'ERR_CONFLICT') throw err;
      // The host itself already holds the new key (a rotation committed between seal and sign).
      if (!ctx.isHost) {
        await io.catchUp(h);
        // That may have joined a fetch asked before the room moved on (a poll, a gap): one more,
        // asked now, brings the new epoch.
        if (ctxOf(h).epoch === env.epoch) await io.catchUp(h);
      }
      if (ctxOf(h).epoch === env.epoch) throw err;
      env = await sealEnvelope(h, text, msgId);
      seq = await deliverEnvelope(h, env);
    }
    if (!ctx.isHost && !deps.sessions.isLinkUp(ctx.host)) void io.catchUp(h).catch(() => undefined);
    core.counters.sent++;
    return { id: msgId, seq, epoch: env.epoch, sentAt: env.sentAt };
  }

  async function send(h: RoomHandle, text: string, id?: string): Promise<SendResult> {
    if (stateOf(h) !== 'active')
      throw new AppError('ERR_NOT_MEMBER', 'you are not in this room (join it first)');
    if (Buffer.byteLength(text, 'utf8') > MAX_TEXT_BYTES)
      throw new AppError(
        'ERR_INVALID_ARGUMENT',
        `a message holds at most ${MAX_TEXT_BYTES} bytes of text`,
      );
    const msgId = id ?? randomBytes(12).toString('base64url');
    const key = `${h.roomId}|${msgId}`;
    // Idempotent by id: a send in flight is joined, a finished one answered again.
    const known = sent.get(key) ?? inFlight.get(key);
    if (known) return known;
    const seen = messageBySeq(h, seqOfId(h, self, msgId) ?? -1);
    if (seen) return { id: msgId, seq: seen.seq, epoch: seen.env.epoch, sentAt: seen.env.sentAt };
    const work = sendNew(h, text, msgId).then((r) => {
      sent.set(key, r);
      if (sent.size > MAX_SENT) sent.delete(sent.keys().next().value as string);
      return r;
    });
    inFlight.set(key, work);
    return work.finally(() => inFlight.delete(key));
  }

  return {
    send,
    settle: (roomId, id, answer) => acks.get(`${roomId}|${id}`)?.(answer),
    rememberStamp,
  };
}
