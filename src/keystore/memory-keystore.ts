/**
 * A keystore that lives only in this process: for `--volatile` peers and tests. Nothing touches
 * disk; `deleteSecret` and `close` zero the stored bytes.
 */
import { generateIdentity, type Identity, type IdentityKind } from '../crypto/identity.js';
import {
  assertSecretId,
  assertSecretSize,
  identityKindMismatch,
  keystoreClosed,
  type Keystore,
} from './keystore.js';

/**
 * Create an empty in-memory keystore.
 *
 * @example
 * const keystore = createMemoryKeystore();
 * const me = await keystore.loadOrCreateIdentity('ed25519'); // a new identity every run
 */
export function createMemoryKeystore(): Keystore {
  const secrets = new Map<string, Buffer>();
  let identityTask: Promise<Identity> | undefined;
  let isClosed = false;
  const open = (): void => {
    if (isClosed) throw keystoreClosed();
  };

  return {
    isVolatile: true,

    async loadOrCreateIdentity(kind: IdentityKind): Promise<Identity> {
      open();
      const task = (identityTask ??= generateIdentity(kind));
      let identity: Identity;
      try {
        identity = await task;
      } catch (err) {
        if (identityTask === task) identityTask = undefined;
        throw err;
      }
      if (identity.kind !== kind)
        throw identityKindMismatch('this volatile keystore', identity.kind, kind);
      return identity;
    },

    putSecret(id, secret) {
      return settle(() => {
        open();
        assertSecretId(id);
        assertSecretSize(secret);
        secrets.get(id)?.fill(0);
        secrets.set(id, Buffer.from(secret));
      });
    },

    getSecret(id) {
      return settle(() => {
        open();
        assertSecretId(id);
        const stored = secrets.get(id);
        return stored === undefined ? undefined : Buffer.from(stored);
      });
    },

    deleteSecret(id) {
      return settle(() => {
        open();
        assertSecretId(id);
        secrets.get(id)?.fill(0);
        secrets.delete(id);
      });
    },

    listSecrets(prefix = '') {
      return settle(() => {
        open();
        return [...secrets.keys()].filter((id) => id.startsWith(prefix)).sort();
      });
    },

    close() {
      return settle(() => {
        if (isClosed) return;
        isClosed = true;
        for (const secret of secrets.values()) secret.fill(0);
        secrets.clear();
        identityTask = undefined;
      });
    },
  };
}

/** Run synchronous work as a promise, so a throw becomes a rejection like in the file keystore. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(work()));
}
