/**
 * `subscribe` for a store whose log lives elsewhere (MongoDB): catch-up and tail by **polling**,
 * plus an in-process channel so events appended by this process arrive with no polling delay.
 *
 * Each subscriber keeps `covered`: every position ≤ `covered` has been delivered (or skipped by the
 * prefix filter). A poll reads the log's head `H` first and then all events in `(covered, H]`;
 * because the single writer commits in position order, seeing `H` implies everything below it is
 * visible, so a poll never skips an event that becomes visible later. A local event is delivered
 * directly only when it is exactly `covered + 1`; anything else (a gap, or a poll running) is
 * left to a poll. Hence no loss, no duplicates, and position order, whoever appended.
 */
import { Observable } from 'rxjs';
import type { AppError } from '../errors.js';
import type { RecordedEvent, SubscribeOptions } from './event-store.js';
import { allWindow } from './store-guards.js';

export interface PollingSource {
  /** The last position visible in the log. */
  head(): Promise<number>;
  /** Events with `after < position ≤ upTo` of streams starting with `prefix`, in order, ≤ `limit`. */
  read(after: number, upTo: number, prefix: string, limit: number): Promise<RecordedEvent[]>;
}

export interface PollingFeedInit {
  readonly pollIntervalMs: number;
  readonly closedReason: () => AppError | undefined;
  /** Consecutive failed polls after which a subscriber errors (default 20). */
  readonly maxFailures?: number;
  readonly toError: (err: unknown) => AppError;
}

export interface PollingFeed {
  subscribe(options?: SubscribeOptions): Observable<RecordedEvent>;
  /** Events this process committed, in position order. */
  publish(events: readonly RecordedEvent[]): void;
  /** Poll once more, then complete every subscriber. */
  complete(): Promise<void>;
}

const PAGE = 1_000;

interface Tail {
  onLocal(events: readonly RecordedEvent[]): void;
  finish(): Promise<void>;
}

/**
 * @example
 * const feed = createPollingFeed({ head, read }, { pollIntervalMs: 200, closedReason, toError });
 * feed.publish(committedEvents);
 */
export function createPollingFeed(source: PollingSource, init: PollingFeedInit): PollingFeed {
  const tails = new Set<Tail>();
  const maxFailures = init.maxFailures ?? 20;

  return {
    subscribe(options) {
      return new Observable<RecordedEvent>((subscriber) => {
        const reason = init.closedReason();
        if (reason) {
          subscriber.error(reason);
          return undefined;
        }
        const { after, prefix } = allWindow(options);
        let covered = after;
        let isBusy = false;
        let isDirty = false;
        let failures = 0;
        let running: Promise<void> = Promise.resolve();
        const waiting: RecordedEvent[] = [];

        const deliver = (e: RecordedEvent): void => {
          covered = e.position;
          if (prefix === '' || e.stream.startsWith(prefix)) subscriber.next(e);
        };

        async function pollOnce(): Promise<void> {
          const head = await source.head();
          while (covered < head && !subscriber.closed) {
            const page = await source.read(covered, head, prefix, PAGE);
            for (const e of page)
              if (e.position > covered && !subscriber.closed) subscriber.next(e);
            covered = page.length < PAGE ? head : (page[page.length - 1] as RecordedEvent).position;
          }
          // Local events that arrived meanwhile: take the ones that continue without a gap.
          while (waiting.length > 0) {
            const e = waiting.shift() as RecordedEvent;
            if (e.position === covered + 1) deliver(e);
            else if (e.position > covered) isDirty = true;
          }
        }

        function kick(): Promise<void> {
          if (isBusy) {
            isDirty = true;
            return running;
          }
          isBusy = true;
          running = (async () => {
            try {
              do {
                isDirty = false;
                await pollOnce();
              } while (isDirty && !subscriber.closed);
              failures = 0;
            } catch (err) {
              if (++failures >= maxFailures) subscriber.error(init.toError(err));
            } finally {
              isBusy = false;
            }
          })();
          return running;
        }

        const tail: Tail = {
          onLocal(events) {
            for (const e of events) {
              if (e.position <= covered) continue;
              if (isBusy) waiting.push(e);
              else if (e.position === covered + 1) deliver(e);
              else void kick();
            }
          },
          async finish() {
            await kick();
            subscriber.complete();
          },
        };
        tails.add(tail);
        const timer = setInterval(() => void kick(), init.pollIntervalMs);
        void kick();
        return () => {
          tails.delete(tail);
          clearInterval(timer);
        };
      });
    },
    publish(events) {
      for (const t of tails) t.onLocal(events);
    },
    async complete() {
      await Promise.all([...tails].map((t) => t.finish()));
      tails.clear();
    },
  };
}
