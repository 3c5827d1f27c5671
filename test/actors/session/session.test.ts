import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { createSession, type Session } from '../../../src/actors/session/session-actor.js';
import type { SealedEnvelope } from '../../../src/protocol/sealed.codec.js';
import {
  exchange,
  fakeClock,
  fakeHandshake,
  overTheWire,
  post,
  serve,
  sessionPair,
  type Pair,
} from './support.js';

const code = (fn: () => unknown): string => {
  try {
    fn();
    return 'none';
  } catch (e) {
    return (e as { code?: string }).code ?? 'uncoded';
  }
};

const flipCt = (env: SealedEnvelope): SealedEnvelope => {
  const bytes = Buffer.from(env.ct, 'base64url');
  bytes[0]! ^= 0x01;
  return { ...env, ct: bytes.toString('base64url') };
};

let pairs: Pair[] = [];
const pair = (...args: Parameters<typeof sessionPair>) => {
  const p = sessionPair(...args);
  pairs.push(p);
  return p;
};

afterEach(() => {
  for (const p of pairs) {
    p.a.close('test over');
    p.b.close('test over');
  }
  pairs = [];
});

describe('sealed requests and responses', () => {
  it('carry whole requests and responses both ways', () => {
    const { a, b } = pair();
    const body = { text: 'hello', list: [1, 2, 3] };
    expect(exchange(a, b, post(body))).toEqual({ status: 200, body: { echo: body, seq: 0 } });
    expect(exchange(b, a, post(body))).toEqual({ status: 200, body: { echo: body, seq: 0 } });
    expect(exchange(a, b, post(2)).body).toEqual({ echo: 2, seq: 1 });
  });

  it('keep the plaintext off the wire: the envelope names only sid, epoch and seq', () => {
    const { a, hs } = pair();
    const env = a.sealRequest(post({ secret: 'attack at dawn' }));
    expect(Object.keys(env).sort()).toEqual(['ct', 'epoch', 'seq', 'sid', 'type', 'v']);
    expect(env).toMatchObject({ v: 1, type: 'sealed', sid: hs.sid, epoch: 0, seq: 0 });
    expect(JSON.stringify(env)).not.toMatch(/attack|rooms|POST/);
  });

  it('refuse a replayed request with ERR_REPLAYED, and deliver it once', () => {
    const { a, b } = pair();
    const env = overTheWire(a.sealRequest(post()));
    serve(b, env);
    expect(code(() => b.openRequest(env))).toBe('ERR_REPLAYED');
    expect(code(() => b.openRequest(env))).toBe('ERR_REPLAYED');
    expect(b.info().stats.opened.requests).toBe(1);
    expect(b.info().stats.failures.replayed).toBe(2);
  });

  it('refuse tampered ct, seq, sid and epoch with ERR_DECRYPT_FAILED', () => {
    const { a, b } = pair();
    const env = a.sealRequest(post());
    a.sealRequest(post()); // seq 1 exists, so a changed seq is not simply "too far"
    const other = fakeHandshake().sid;
    for (const forged of [
      flipCt(env),
      { ...env, seq: 1 },
      { ...env, sid: other },
      { ...env, epoch: 1 },
      { ...env, ct: Buffer.from(env.ct, 'base64url').subarray(0, -3).toString('base64url') },
    ]) {
      expect(code(() => b.openRequest(overTheWire(forged)))).toBe('ERR_DECRYPT_FAILED');
    }
    // The genuine envelope still opens: failed attempts consumed nothing.
    expect(b.openRequest(overTheWire(env)).seq).toBe(0);
  });

  it('refuse a message moved to another channel or direction', () => {
    const { a, b } = pair();
    const request = a.sealRequest(post());
    // Our own request fed back to us: right keys' owner, wrong direction.
    expect(code(() => a.openRequest(overTheWire(request)))).toBe('ERR_DECRYPT_FAILED');
    const opened = b.openRequest(overTheWire(request));
    const response = b.sealResponse(opened, { status: 200 });
    // A response presented as a request (channel): b already used request seq 0, a never did.
    expect(code(() => b.openRequest(overTheWire(response)))).toMatch(/ERR_REPLAYED|ERR_DECRYPT/);
    expect(code(() => a.openRequest(overTheWire(response)))).toBe('ERR_DECRYPT_FAILED');
    // …and a request presented as the response to itself.
    expect(code(() => a.openResponse(request, overTheWire(request)))).toBe('ERR_DECRYPT_FAILED');
    expect(a.openResponse(request, overTheWire(response))).toEqual({ status: 200 });
  });

  it('bind each response to its request', () => {
    const { a, b } = pair();
    const r1 = a.sealRequest(post(1));
    const r2 = a.sealRequest(post(2));
    const o1 = b.openRequest(overTheWire(r1));
    const o2 = b.openRequest(overTheWire(r2));
    const s1 = overTheWire(b.sealResponse(o1, { status: 200, body: 1 }));
    const s2 = overTheWire(b.sealResponse(o2, { status: 200, body: 2 }));
    expect(code(() => a.openResponse(r2, s1))).toBe('ERR_DECRYPT_FAILED');
    expect(code(() => a.openResponse(r1, { ...(s2 as object), seq: 0 }))).toBe(
      'ERR_DECRYPT_FAILED',
    );
    expect(a.openResponse(r1, s1).body).toBe(1);
    expect(a.openResponse(r2, s2).body).toBe(2);
    expect(code(() => a.openResponse(r1, s1))).toBe('ERR_REPLAYED');
  });

  it('seal one response per request, never two', () => {
    const { a, b } = pair();
    const opened = b.openRequest(overTheWire(a.sealRequest(post())));
    b.sealResponse(opened, { status: 200 });
    expect(code(() => b.sealResponse(opened, { status: 500 }))).toBe('ERR_INVALID_ARGUMENT');
  });

  it('open out-of-order requests within the window, concurrently in flight', () => {
    const { a, b } = pair();
    const envelopes = Array.from({ length: 50 }, (_, i) => a.sealRequest(post(i)));
    expect(new Set(envelopes.map((e) => e.seq)).size).toBe(50);
    const order = [...envelopes].reverse();
    for (const env of order) {
      const opened = b.openRequest(overTheWire(env));
      expect(opened.inner.body).toBe(env.seq);
      const response = b.sealResponse(opened, { status: 200, body: env.seq });
      expect(a.openResponse(env, overTheWire(response)).body).toBe(env.seq);
    }
    expect(b.info().stats.storedKeys).toBe(0);
    expect(a.info().stats.pendingResponses).toBe(0);
  });

  it('forget a cancelled response', () => {
    const { a, b } = pair();
    const env = a.sealRequest(post());
    const response = serve(b, overTheWire(env));
    a.cancelResponse(env);
    expect(a.info().stats.pendingResponses).toBe(0);
    expect(code(() => a.openResponse(env, response))).toBe('ERR_REPLAYED');
  });

  it('answer malformed envelopes with ERR_INVALID_MESSAGE (not a decryption failure)', () => {
    const { a, b } = pair();
    expect(code(() => b.openRequest({ v: 1, type: 'sealed' }))).toBe('ERR_INVALID_MESSAGE');
    expect(code(() => a.openResponse({ epoch: 0, seq: 0 }, 'nope'))).toBe('ERR_INVALID_MESSAGE');
    expect(b.info().stats.malformed).toBe(1);
  });
});

describe('sealed push frames', () => {
  it('carry push payloads both ways', () => {
    const { a, b } = pair();
    const push = { type: 'room.message', roomId: 'r1', text: 'hi' };
    expect(b.openPush(a.sealPush(push))).toEqual(push);
    expect(a.openPush(b.sealPush(push))).toEqual(push);
  });

  it('refuse replays, wrong direction, tampering and another session', () => {
    const { a, b } = pair();
    const other = pair();
    const frame = a.sealPush({ type: 'x' });
    b.openPush(frame);
    expect(code(() => b.openPush(frame))).toBe('ERR_REPLAYED');
    const f2 = a.sealPush({ type: 'x' });
    expect(code(() => a.openPush(f2))).toBe('ERR_DECRYPT_FAILED');
    expect(code(() => other.b.openPush(f2))).toBe('ERR_DECRYPT_FAILED');
    for (const at of [1, 9, 13, 20, 21, f2.length - 1]) {
      const t = Buffer.from(f2);
      t[at]! ^= 0x80;
      expect(code(() => b.openPush(t))).toMatch(/ERR_DECRYPT_FAILED|ERR_INVALID_MESSAGE/);
    }
    expect(b.openPush(f2)).toEqual({ type: 'x' });
  });

  it('open out of order', () => {
    const { a, b } = pair();
    const frames = Array.from({ length: 20 }, (_, i) => a.sealPush({ type: 'n', i }));
    const shuffled = frames.map((f, i) => ({ f, k: (i * 7) % 20 })).sort((x, y) => x.k - y.k);
    const got = shuffled.map(({ f }) => b.openPush(f).i);
    expect(new Set(got).size).toBe(20);
  });
});

describe('session lifecycle and log', () => {
  it('takes over the material: its key buffers are wiped', () => {
    const hs = fakeHandshake();
    const material = hs.requester();
    const s = createSession(material, {
      now: () => new Date(),
      spawnActor: (m, input) => createActor(m, { input }).start(),
    });
    const { chains } = material;
    for (const k of [chains.sendRequests, chains.recvRequests, chains.sendPush, chains.recvPush]) {
      expect(k.every((x) => x === 0)).toBe(true);
    }
    s.close('done');
  });

  it('refuses everything after close with ERR_UNKNOWN_SESSION', () => {
    const { a, b } = pair();
    const env = a.sealRequest(post());
    b.close('bye');
    expect(b.info()).toMatchObject({ state: 'closed', isOpen: false });
    expect(b.info().stats.heldEpochs).toEqual([]);
    expect(code(() => b.openRequest(overTheWire(env)))).toBe('ERR_UNKNOWN_SESSION');
    expect(code(() => b.sealPush({ type: 'x' }))).toBe('ERR_UNKNOWN_SESSION');
  });

  it('expires when idle (machine `after`) and wipes its keys', () => {
    vi.useFakeTimers();
    try {
      const clock = fakeClock();
      const { a, b } = sessionPair({ idleTimeoutMs: 60_000 }, clock);
      exchange(a, b, post());
      vi.advanceTimersByTime(60_001);
      expect(a.info().state).toBe('expired');
      expect(a.info().stats.heldEpochs).toEqual([]);
      expect(code(() => a.sealRequest(post()))).toBe('ERR_UNKNOWN_SESSION');
      b.close('test over');
    } finally {
      vi.useRealTimers();
    }
  });

  it('reports the link state', () => {
    const { a } = pair();
    a.setLink('up');
    expect(a.info().linkState).toBe('up');
    a.setLink('down');
    expect(a.info().linkState).toBe('down');
  });

  it('writes a handful of records for hundreds of messages, and no key bytes', () => {
    const { a, b, hs, records, clock } = pair();
    for (let i = 0; i < 200; i++) {
      exchange(a, b, post(i));
      b.openPush(a.sealPush({ type: 'n', i }));
      clock.advance(100);
    }
    const stream = `session:${hs.requester().peerId}:${hs.sid}`;
    const mine = records.filter((r) => r.stream === stream);
    // init, first activity, 1000-message crossings (none here), one per 60 s of traffic (20 s here)
    expect(mine.length).toBeLessThanOrEqual(3);
    const log = JSON.stringify(records);
    for (const key of hs.secrets) {
      expect(log).not.toContain(key.toString('hex'));
      expect(log).not.toContain(key.toString('base64url'));
    }
  });

  it('rate-limits failure records and carries the count', () => {
    const { a, b, records, clock, hs } = pair();
    const env = overTheWire(a.sealRequest(post()));
    serve(b, env);
    for (let i = 0; i < 50; i++) code(() => b.openRequest(env));
    clock.advance(1_500);
    code(() => b.openRequest(env));
    const failures = records.filter(
      (r) => r.event.type === 'decrypt.failed' && r.stream.endsWith(hs.sid),
    );
    expect(failures.map((r) => (r.event.data as { count: number }).count)).toEqual([1, 50]);
    b.close('x');
    expect(b.info().stats.failures.replayed).toBe(51);
  });
});

describe('concurrency', () => {
  it('gives concurrent in-flight requests distinct seqs and answers each', async () => {
    const { a, b } = pair();
    const once = async (i: number) => {
      const env = a.sealRequest(post(i));
      await new Promise((r) => setTimeout(r, (i * 13) % 7));
      const response = serve(b, overTheWire(env));
      await new Promise((r) => setImmediate(r));
      return a.openResponse(env, response).body as { echo: number };
    };
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => once(i)));
    expect(results.map((r) => r.echo)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});

export type { Session };
