/**
 * Opens the event store a spec names; the one place that knows the spec syntax (`--store`).
 *
 * | spec | store |
 * | --- | --- |
 * | `memory` | volatile, in this process only; bounded by `options.memory.retainBytes` if set |
 * | `file:PATH` | embedded durable log in directory PATH (created 0700; `~/` is the home dir) |
 * | `mongodb://…`, `mongodb+srv://…` | MongoDB (database from the URI path, else `conclave`) |
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import type { EventStore } from './event-store.js';
import { createFileEventStore, type FileEventStoreInit } from './file-event-store.js';
import { createMemoryEventStore, type MemoryEventStoreInit } from './memory-event-store.js';
import type { MongoEventStoreInit } from './mongo-event-store.js';

export interface OpenEventStoreOptions {
  /** For `memory`: e.g. a retention budget (`retainBytes`); ignored by the other stores. */
  readonly memory?: MemoryEventStoreInit;
  readonly file?: FileEventStoreInit;
  readonly mongo?: MongoEventStoreInit;
}

export type StoreSpec =
  | { readonly kind: 'memory' }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'mongodb'; readonly uri: string };

const ACCEPTED =
  'use memory, file:PATH or mongodb://HOST[:PORT]/DATABASE (mongodb+srv:// also works)';

/**
 * Parse a store spec without opening anything.
 *
 * @example
 * parseStoreSpec('file:/var/lib/conclave/log'); // { kind: 'file', path: '/var/lib/conclave/log' }
 */
export function parseStoreSpec(spec: string): StoreSpec {
  const s = typeof spec === 'string' ? spec.trim() : '';
  if (s === 'memory') return { kind: 'memory' };
  if (s.startsWith('file:')) {
    const raw = s.slice('file:'.length);
    if (raw === '')
      throw new AppError(
        'ERR_INVALID_CONFIG',
        `the store spec "file:" needs a directory; ${ACCEPTED}`,
      );
    const path =
      raw === '~' ? homedir() : raw.startsWith('~/') ? join(homedir(), raw.slice(2)) : raw;
    return { kind: 'file', path };
  }
  if (/^mongodb(\+srv)?:\/\/[^/?]/.test(s)) return { kind: 'mongodb', uri: s };
  // Never echo what could be credentials (a mistyped URI with user:password@).
  const shown = s.replace(/\/\/[^@/]*@/, '//***@');
  throw new AppError('ERR_INVALID_CONFIG', `unknown event store "${shown}"; ${ACCEPTED}`);
}

/**
 * Open the store named by `spec` (see the table above).
 *
 * @example
 * const store = await openEventStore('file:~/.conclave/log');
 * console.log(store.description); // file:/home/me/.conclave/log
 * const volatile = await openEventStore('memory', { memory: { retainBytes: 32 * 1024 * 1024 } });
 */
export async function openEventStore(
  spec: string,
  options: OpenEventStoreOptions = {},
): Promise<EventStore> {
  const parsed = parseStoreSpec(spec);
  switch (parsed.kind) {
    case 'memory':
      return createMemoryEventStore(options.memory);
    case 'file':
      return createFileEventStore(parsed.path, options.file);
    case 'mongodb': {
      // Loaded only for a Mongo store: the driver's BSON module alone holds a 17 MB buffer.
      const { createMongoEventStore } = await import('./mongo-event-store.js');
      return createMongoEventStore(parsed.uri, options.mongo);
    }
  }
}
