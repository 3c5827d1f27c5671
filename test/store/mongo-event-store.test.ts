/**
 * The contract against a real MongoDB, only when `MONGODB_URI` is set (the global setup prints a
 * loud SKIPPED line otherwise). One random database per file, dropped at the end; one collection
 * prefix per test.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, describe } from 'vitest';
import {
  createMongoEventStore,
  type MongoEventStoreInit,
} from '../../src/store/mongo-event-store.js';
import { describeEventStoreContract } from './event-store.contract.js';

const uri = process.env.MONGODB_URI;
const database = `conclave_test_${randomBytes(6).toString('hex')}`;
let n = 0;

describe.skipIf(!uri)('mongodb event store (MONGODB_URI)', () => {
  afterAll(async () => {
    const client = new MongoClient(uri as string);
    try {
      await client.db(database).dropDatabase();
    } finally {
      await client.close();
    }
  });

  describeEventStoreContract('mongodb', async () => {
    const init: MongoEventStoreInit = {
      database,
      collectionPrefix: `t${++n}.`,
      pollIntervalMs: 25,
    };
    const store = await createMongoEventStore(uri as string, init);
    return {
      store,
      reopen: () => createMongoEventStore(uri as string, init),
      cleanup: () => store.close(),
    };
  });
});
