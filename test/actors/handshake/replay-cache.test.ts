import { describe, expect, it } from 'vitest';
import { createReplayCache, seedReplayCache } from '../../../src/actors/handshake/replay-cache.js';

const W = 60_000;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

describe('replay cache', () => {
  it('remembers a nonce for 2 × the window, then forgets it', () => {
    const cache = createReplayCache({ freshnessMs: W });
    expect(cache.add('n1', T0)).toBe('added');
    expect(cache.add('n1', T0 + 1)).toBe('present');
    expect(cache.has('n1', T0 + 2 * W - 1)).toBe(true);
    expect(cache.has('n1', T0 + 2 * W)).toBe(false);
    expect(cache.add('n1', T0 + 2 * W)).toBe('added');
  });

  it('drops expired nonces to make room, but refuses rather than forget a live one', () => {
    const cache = createReplayCache({ freshnessMs: W, maxEntries: 2 });
    expect(cache.add('a', T0)).toBe('added');
    expect(cache.add('b', T0 + 10)).toBe('added');
    expect(cache.add('c', T0 + 20)).toBe('full');
    expect(cache.hasRoom(T0 + 20)).toBe(false);
    expect(cache.has('a', T0 + 20)).toBe(true);
    expect(cache.add('c', T0 + 2 * W + 5)).toBe('added'); // 'a' expired and was dropped
    expect(cache.size).toBe(2);
    expect(cache.has('b', T0 + 2 * W + 5)).toBe(true);
  });

  it('does not store what is already past any window', () => {
    const cache = createReplayCache({ freshnessMs: W });
    expect(cache.add('old', T0, T0 + 3 * W)).toBe('added');
    expect(cache.size).toBe(0);
  });

  it('seeds from recorded offer.received events of authentic first-seen offers only', () => {
    const at = (ms: number) => new Date(ms).toISOString();
    const offer = (nonce: string, facts: Record<string, unknown>, ms = T0) => ({
      type: 'offer.received',
      data: {
        offer: { nonce },
        receivedAt: at(ms),
        facts: { isReplayed: false, identityMatches: true, signatureValid: true, ...facts },
      },
    });
    const records = [
      { type: 'xstate.init', data: { input: {} } },
      offer('good', {}),
      offer('forged', { signatureValid: false }),
      offer('imposter', { identityMatches: false }),
      offer('replay', { isReplayed: true }),
      offer('ancient', {}, T0 - 3 * W),
      { type: 'offer.received', data: { offer: { nonce: 'x' }, receivedAt: 'not a date' } },
      { type: 'accept.sent', data: { nonce: 'accept-nonce' } },
    ];
    const cache = createReplayCache({ freshnessMs: W });
    expect(seedReplayCache(cache, records, T0 + 1_000)).toBe(1);
    expect(cache.has('good', T0 + 1_000)).toBe(true);
    for (const n of ['forged', 'imposter', 'replay', 'ancient', 'x', 'accept-nonce']) {
      expect(cache.has(n, T0 + 1_000)).toBe(false);
    }
  });
});
