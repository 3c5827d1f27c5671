/**
 * The messages of one room as a gapless, duplicate-free sequence: history from
 * `GET /api/rooms/:id/messages` first, then live `message` events from the push feed. Every
 * (re)connection and every jump in `seq` triggers a catch-up read, so a dropped stream or an
 * overflowed replay buffer loses nothing; anything at or below the last printed `seq` is dropped.
 */
import { apiJson, type ApiTarget } from '../api-client.js';
import { followEvents, type FeedEvent } from './event-stream.js';
import { roomPath, type MessageView } from './room-client.js';

const PAGE = 500;

export interface RoomFeedInit {
  readonly target: ApiTarget;
  readonly roomId: string;
  /** Deliver messages with `seq` above this. */
  readonly after: number;
  readonly signal: AbortSignal;
  readonly onMessage: (m: MessageView) => void;
  /** Other feed events (room, rotation, peer …) recorded after the feed started. */
  readonly onEvent?: (e: FeedEvent) => void;
  /** A catch-up read failed (e.g. this peer was removed from the room). */
  readonly onError?: (err: unknown) => void;
  readonly onDrop?: (reason: string) => void;
}

export interface RoomFeed {
  /** Follow until the signal aborts. */
  run(): Promise<void>;
  /** Read what came after the last delivered message (queued behind earlier work). */
  catchUp(): Promise<void>;
  /** Resolves when everything queued so far was delivered. */
  idle(): Promise<void>;
  readonly lastSeq: number;
}

/** Messages after `after`, one page. */
export function readMessages(
  target: ApiTarget,
  roomId: string,
  after: number,
  limit: number,
): Promise<MessageView[]> {
  return apiJson<MessageView[]>(
    target,
    'GET',
    roomPath(roomId, `/messages?after=${after}&limit=${limit}`),
  );
}

export function createRoomFeed(init: RoomFeedInit): RoomFeed {
  const { target, roomId } = init;
  const startedAt = Date.now();
  let lastSeq = init.after;
  let queue: Promise<void> = Promise.resolve();

  const deliver = (m: MessageView): void => {
    if (m.seq <= lastSeq) return;
    lastSeq = m.seq;
    init.onMessage(m);
  };

  async function readAll(): Promise<void> {
    for (;;) {
      const page = await readMessages(target, roomId, lastSeq, PAGE);
      page.forEach(deliver);
      if (page.length < PAGE || init.signal.aborted) return;
    }
  }

  const enqueue = (work: () => Promise<void> | void): Promise<void> => {
    queue = queue.then(work).catch((err: unknown) => init.onError?.(err));
    return queue;
  };

  const onEvent = (e: FeedEvent): void => {
    if (e.event === 'message') {
      const m = e.data as unknown as MessageView;
      if (m.roomId !== roomId || typeof m.seq !== 'number') return;
      void enqueue(async () => {
        if (m.seq > lastSeq + 1) await readAll();
        deliver(m);
      });
      return;
    }
    // The first connection replays the peer's buffer: old room and peer news is not news.
    const at = typeof e.data.at === 'string' ? Date.parse(e.data.at) : startedAt;
    if (at >= startedAt - 1) void enqueue(() => init.onEvent?.(e));
  };

  return {
    run: () =>
      followEvents({
        target,
        signal: init.signal,
        onEvent,
        onOpen: () => void enqueue(readAll),
        ...(init.onDrop ? { onDrop: init.onDrop } : {}),
      }),
    catchUp: () => enqueue(readAll),
    idle: () => enqueue(() => undefined),
    get lastSeq() {
      return lastSeq;
    },
  };
}
