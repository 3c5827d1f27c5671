/**
 * The local push feed behind `GET /api/events`: public runtime events with increasing ids, a
 * bounded replay buffer so a client reconnecting with `Last-Event-ID` misses nothing recent, and a
 * live tail. Nothing secret is ever published here (no keys; message text only to the token holder).
 *
 * @example
 * const hub = createEventHub({ capacity: 1000 });
 * hub.publish('peer', { peerId, change: 'discovered' });
 * hub.events$(lastEventId).subscribe(({ id, type, data }) => …);
 */
import { Observable, Subject } from 'rxjs';

export type HubEventType = 'peer' | 'room' | 'message' | 'rotation' | 'security';

export interface HubEvent {
  readonly id: number;
  readonly type: HubEventType;
  readonly at: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface EventHub {
  publish(type: HubEventType, data: Readonly<Record<string, unknown>>): HubEvent;
  /**
   * Buffered events with id > `afterId` (those still held), then live ones; an `afterId` past the
   * newest id (a client from before a restart) gets the whole buffer.
   */
  events$(afterId?: number): Observable<HubEvent>;
  readonly lastId: number;
  close(): void;
}

export function createEventHub(init: { capacity?: number; now?: () => Date } = {}): EventHub {
  const capacity = init.capacity ?? 1_000;
  const now = init.now ?? (() => new Date());
  const buffer: HubEvent[] = [];
  const live = new Subject<HubEvent>();
  let lastId = 0;
  return {
    publish(type, data) {
      const e: HubEvent = { id: ++lastId, type, at: now().toISOString(), data };
      buffer.push(e);
      if (buffer.length > capacity) buffer.shift();
      live.next(e);
      return e;
    },
    events$(afterId = 0) {
      return new Observable<HubEvent>((sub) => {
        // Subscribe to live first and drop what the replay already delivered: no gap, no dup. An
        // id past the newest comes from before a restart (ids start again at 1): replay it all,
        // or the client would wait for ever for ids it already "has".
        let replayedUpTo = afterId > lastId ? 0 : afterId;
        const liveSub = live.subscribe({
          next: (e) => {
            if (e.id > replayedUpTo) sub.next(e);
          },
          complete: () => sub.complete(),
        });
        for (const e of buffer) {
          if (e.id > replayedUpTo) {
            sub.next(e);
            replayedUpTo = e.id;
          }
        }
        return () => liveSub.unsubscribe();
      });
    },
    get lastId() {
      return lastId;
    },
    close() {
      live.complete();
    },
  };
}
