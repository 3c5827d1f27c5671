import { describe, expect, it } from 'vitest';
import { createMemoryKeystore } from '../../src/keystore/memory-keystore.js';
import { describeKeystoreContract } from './keystore.contract.js';

describeKeystoreContract('memory keystore', () =>
  Promise.resolve({ keystore: createMemoryKeystore(), cleanup: () => Promise.resolve() }),
);

describe('memory keystore', () => {
  it('is volatile and starts empty', async () => {
    const ks = createMemoryKeystore();
    expect(ks.isVolatile).toBe(true);
    expect(await ks.listSecrets()).toEqual([]);
  });

  it('gives a new identity to each instance', async () => {
    const a = await createMemoryKeystore().loadOrCreateIdentity('ed25519');
    const b = await createMemoryKeystore().loadOrCreateIdentity('ed25519');
    expect(a.fingerprint).not.toBe(b.fingerprint);
  });
});
