/** The event log: the contract, its three implementations, and the spec parser. */
export type * from './event-store.js';
export { createMemoryEventStore } from './memory-event-store.js';
export {
  createFileEventStore,
  type FileEventStore,
  type FileEventStoreInit,
  type FileRecovery,
} from './file-event-store.js';
export { createMongoEventStore, type MongoEventStoreInit } from './mongo-event-store.js';
export {
  openEventStore,
  parseStoreSpec,
  type OpenEventStoreOptions,
  type StoreSpec,
} from './open-event-store.js';
export { MAX_APPEND_BYTES } from './event-data.js';
