/**
 * `subscribe` for stores that hold a {@link LogIndex}: each subscriber is a cursor into the
 * position-ordered log. Catch-up and live tail are the same loop ("deliver from my cursor to the
 * head"), so no event can be skipped or delivered twice, whatever is appended meanwhile, and
 * appends made by a subscriber from inside its own callback are delivered after the current one.
 *
 * A long catch-up is delivered in slices of {@link SLICE} events per macrotask so it does not
 * block the process; the order is unaffected. With a retaining index (the bounded memory store), a
 * cursor below the oldest event still held goes on from there.
 */
import { Observable, type Subscriber } from 'rxjs';
import type { AppError } from '../errors.js';
import type { RecordedEvent, SubscribeOptions } from './event-store.js';
import type { LogIndex } from './log-index.js';
import { allWindow } from './store-guards.js';

const SLICE = 4_096;

interface Cursor {
  readonly subscriber: Subscriber<RecordedEvent>;
  readonly prefix: string;
  /** Position of the last event looked at (the next one is `next + 1`). */
  next: number;
  isPumping: boolean;
  isScheduled: boolean;
}

export interface IndexFeed {
  subscribe(options?: SubscribeOptions): Observable<RecordedEvent>;
  /** Deliver events added to the index since the last call to every subscriber. */
  notify(): void;
  /** Deliver everything still pending, then complete every subscriber. */
  complete(): void;
}

/**
 * @example
 * const feed = createIndexFeed(index, () => (isClosed ? closedError(description) : undefined));
 * index.add(recorded);
 * feed.notify();
 */
export function createIndexFeed(
  index: LogIndex,
  closedReason: () => AppError | undefined,
  options: { onIdle?: () => void } = {},
): IndexFeed {
  const cursors = new Set<Cursor>();
  let delivering = 0;
  const idle = options.onIdle;

  /** Run a delivery; `onIdle` runs when the outermost one (of all cursors) is done. */
  function delivery(work: () => void): void {
    delivering++;
    try {
      work();
    } finally {
      if (--delivering === 0) idle?.();
    }
  }

  function pump(c: Cursor, isUnbounded: boolean): void {
    // Re-entered from a subscriber that appended: the outer loop on the stack (same cursor) picks
    // the new events up in order; recursing would only deepen the stack.
    if (c.isPumping) return;
    c.isPumping = true;
    try {
      let budget = isUnbounded ? Number.POSITIVE_INFINITY : SLICE;
      while (c.next < index.head) {
        if (c.subscriber.closed) return;
        if (budget-- <= 0) {
          schedule(c);
          return;
        }
        // A retaining index may have dropped events ahead of this cursor (a subscriber's own
        // appends can take it over budget): go on from the oldest one still held.
        if (c.next < index.first - 1) c.next = index.first - 1;
        const e = index.at(++c.next) as RecordedEvent;
        if (c.prefix === '' || e.stream.startsWith(c.prefix)) c.subscriber.next(e);
      }
    } finally {
      c.isPumping = false;
    }
  }

  function schedule(c: Cursor): void {
    if (c.isScheduled) return;
    c.isScheduled = true;
    setImmediate(() => {
      c.isScheduled = false;
      if (cursors.has(c)) delivery(() => pump(c, false));
    });
  }

  return {
    subscribe(options) {
      return new Observable<RecordedEvent>((subscriber) => {
        const reason = closedReason();
        if (reason) {
          subscriber.error(reason);
          return undefined;
        }
        const { after, prefix } = allWindow(options);
        const c: Cursor = { subscriber, prefix, next: after, isPumping: false, isScheduled: false };
        cursors.add(c);
        delivery(() => pump(c, false));
        return () => {
          cursors.delete(c);
        };
      });
    },
    notify() {
      delivery(() => {
        for (const c of cursors) pump(c, false);
      });
    },
    complete() {
      for (const c of [...cursors]) {
        pump(c, true);
        cursors.delete(c);
        c.subscriber.complete();
      }
    },
  };
}
