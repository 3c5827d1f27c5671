/**
 * A responder that answers an offer addressed to B with another identity (ignoring `to`): the
 * requester refuses it (`key-changed`) and raises exactly one security event, of kind
 * `key-changed`, naming who answered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/crypto/index.js';
import { impostorAt, sessionsWithAlerts } from '../support/impostor.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('key-changed alert on the requester', () => {
  it('is raised once, with kind key-changed', async () => {
    const alice = await generateIdentity('ed25519');
    const bob = await generateIdentity('ed25519');
    const carol = await generateIdentity('ed25519');
    // carol's hostile peer API: answers any offer with a valid accept signed by carol
    const url = await impostorAt(carol, cleanups);
    const { sessions, alerts } = sessionsWithAlerts(alice, cleanups);
    await expect(sessions.connect({ url, expectedPeerId: bob.fingerprint })).rejects.toMatchObject({
      code: 'ERR_HANDSHAKE_FAILED',
      details: { reason: 'key-changed' },
    });
    expect(alerts.map((a) => a.kind)).toEqual(['key-changed']);
    expect(alerts[0]).toMatchObject({ peerId: bob.fingerprint });
    expect(alerts[0]?.detail).toContain(carol.fingerprint);
  });
});
