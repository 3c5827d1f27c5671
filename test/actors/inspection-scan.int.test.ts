/**
 * No key leaves through live inspection: two in-process runtimes with inspection on run a real
 * handshake over loopback HTTP, sealed pings both ways and a re-key, while a reader collects every
 * inspection event. Then the collected text is scanned for every secret the test can get hold of
 * (identity private keys and every 32-byte session chain key of every epoch, caught as the chains
 * take them, as hex, base64 and base64url), and every field named like a secret must hold the
 * redaction marker.
 */
import type * as ChainModuleNs from '../../src/crypto/chain.js';

type ChainModule = typeof ChainModuleNs;
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPeerRuntime, type PeerRuntime } from '../../src/actors/peer-runtime.js';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import { isSecretFieldName, REDACTED } from '../../src/actors/sanitize.js';
import { exportPrivateKey, generateIdentity, type Identity } from '../../src/crypto/index.js';
import type { InspectionRecord } from '../../src/protocol/inspection.types.js';
import { createMemoryEventStore } from '../../src/store/memory-event-store.js';
import { entriesDeep } from '../support/inspect-client.js';
import { serveSessions } from '../support/session-api.js';

/** Every chain key a session starts a ratchet chain from (the chains wipe the caller's copy). */
const chainKeys = vi.hoisted(() => [] as Buffer[]);
vi.mock('../../src/crypto/chain.js', async (importOriginal) => {
  const chain = await importOriginal<ChainModule>();
  return {
    ...chain,
    createSendingChain: (key: Uint8Array, options?: { limit?: number }) => {
      chainKeys.push(Buffer.from(key));
      return chain.createSendingChain(key, options);
    },
    createReceivingChain: (key: Uint8Array, ...rest: unknown[]) => {
      chainKeys.push(Buffer.from(key));
      return (chain.createReceivingChain as (k: Uint8Array, ...r: unknown[]) => unknown)(
        key,
        ...rest,
      );
    },
  };
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function node(name: string, secrets: Buffer[], records: InspectionRecord[]) {
  const identity: Identity = await generateIdentity('ed25519');
  const der = exportPrivateKey(identity);
  secrets.push(der, der.subarray(der.length - 32));
  const runtime: PeerRuntime = createPeerRuntime(
    {
      peerId: identity.fingerprint,
      name,
      fingerprint: identity.fingerprint,
      identityKind: 'ed25519',
      store: 'memory',
      version: '0.1.0',
      isInspecting: true,
    },
    { store: createMemoryEventStore() },
  );
  runtime.inspection!.events$().subscribe((r) => records.push(r));
  runtime.start();
  const sessions = createPeerSessions(
    { identity, session: { rekeyAfterMessages: 4 } },
    {
      spawnActor: runtime.spawnActor,
      pinState: () => 'none',
      onEstablished: () => undefined,
      onSecurityAlert: () => undefined,
    },
  );
  const api = await serveSessions(name, identity, sessions);
  cleanups.push(
    () => runtime.stop('test'),
    () => api.close(),
    () => sessions.close(),
  );
  return { identity, sessions, api };
}

describe('live inspection and secrets', () => {
  it('lets no key bytes into any inspection event during a handshake, sealed pings and a re-key', async () => {
    const secrets: Buffer[] = [];
    const records: InspectionRecord[] = [];
    const a = await node('a', secrets, records);
    const b = await node('b', secrets, records);
    await a.sessions.connect({ url: b.api.url, expectedPeerId: b.identity.fingerprint });
    for (let i = 0; i < 12; i++) {
      await a.sessions.ping(b.identity.fingerprint, i % 2 === 0 ? 'request' : 'push');
    }

    // the scan looked at the real thing: both handshake machines, the sessions, their epochs
    const machines = new Set(records.flatMap((r) => (r.type === '@xstate.actor' ? [r.name] : [])));
    expect([...machines]).toEqual(
      expect.arrayContaining(['peer', 'handshake-requester', 'handshake-responder', 'session']),
    );
    expect(
      records.some((r) => r.type === '@xstate.event' && r.event.type === 'rekey.completed'),
    ).toBe(true);
    // four chains per side per epoch (epoch 0 and at least one re-key), two identity keys each
    secrets.push(...chainKeys);
    expect(chainKeys.length).toBeGreaterThanOrEqual(2 * 4 * 2);
    expect(chainKeys.every((k) => k.length === 32 && k.some((byte) => byte !== 0))).toBe(true);

    const text = JSON.stringify(records);
    for (const secret of secrets) {
      for (const encoding of ['hex', 'base64', 'base64url'] as const) {
        expect(text.includes(secret.toString(encoding)), `a key appeared as ${encoding}`).toBe(
          false,
        );
      }
    }
    for (const [field, value] of entriesDeep(records)) {
      if (isSecretFieldName(field)) expect(value, field).toBe(REDACTED);
    }
  }, 30_000);
});
