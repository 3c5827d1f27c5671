import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeInnerPush,
  decodeInnerRequest,
  decodeInnerResponse,
  decodePushFrame,
  decodeRekeyRequestBody,
  decodeRekeyResponseBody,
  decodeSealedEnvelope,
  encodeInnerPush,
  encodeInnerRequest,
  encodeInnerResponse,
  encodePushFrame,
  encodeSealedEnvelope,
  MAX_CT_CHARS,
  MAX_ENVELOPE_BYTES,
  MAX_INNER_BYTES,
  MAX_PUSH_FRAME_BYTES,
  parseSealedEnvelope,
  PUSH_HEADER_LENGTH,
} from '../../src/protocol/sealed.codec.js';

const sid = 'c2Vzc2lvbi1pZC0xMjM0NQ';
const ct = randomBytes(40);
const valid = () => encodeSealedEnvelope(sid, 3, 42, ct);

const reasonOf = (r: { ok: boolean; error?: { reason: string } }) =>
  r.ok ? 'ok' : (r.error?.reason ?? '?');

const thrownCode = (fn: () => unknown): string => {
  try {
    fn();
    return 'none';
  } catch (e) {
    return (e as { code?: string }).code ?? 'uncoded';
  }
};

describe('sealed envelope', () => {
  it('round-trips through JSON', () => {
    const r = parseSealedEnvelope(JSON.stringify(valid()));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ sid, epoch: 3, seq: 42 });
    expect(r.value.ciphertext.equals(ct)).toBe(true);
  });

  const bad: Record<string, [unknown, string]> = {
    null: [null, 'invalid'],
    array: [[], 'invalid'],
    string: ['sealed', 'invalid'],
    'v: 2': [{ ...valid(), v: 2 }, 'unsupported-version'],
    'v that String() cannot convert': [
      { ...valid(), v: JSON.parse('{"toString":null}') as unknown },
      'unsupported-version',
    ],
    'wrong type': [{ ...valid(), type: 'plain' }, 'invalid'],
    'extra field': [{ ...valid(), extra: 1 }, 'invalid'],
    'missing epoch': [(({ epoch: _e, ...rest }) => rest)(valid()), 'invalid'],
    'short sid': [{ ...valid(), sid: 'abc' }, 'invalid'],
    'sid with a slash': [{ ...valid(), sid: 'abc/defghij' }, 'invalid'],
    'negative seq': [{ ...valid(), seq: -1 }, 'invalid'],
    'fractional seq': [{ ...valid(), seq: 1.5 }, 'invalid'],
    'seq past 2^53': [{ ...valid(), seq: 2 ** 53 }, 'invalid'],
    'seq as string': [{ ...valid(), seq: '1' }, 'invalid'],
    'epoch past u32': [{ ...valid(), epoch: 2 ** 32 }, 'invalid'],
    'ct with padding': [{ ...valid(), ct: `${valid().ct}=` }, 'invalid'],
    'ct in base64 (not url)': [{ ...valid(), ct: '+/+/+/+/+/+/+/+/+/+/+/' }, 'invalid'],
    'ct non-canonical tail': [{ ...valid(), ct: 'A'.repeat(22) + 'B' }, 'invalid'],
    'ct impossible length': [{ ...valid(), ct: 'A'.repeat(25) }, 'invalid'],
    'ct shorter than a tag': [{ ...valid(), ct: 'A'.repeat(20) }, 'invalid'],
    'ct too long': [{ ...valid(), ct: 'A'.repeat(MAX_CT_CHARS + 4) }, 'oversized'],
    '__proto__ key': [JSON.parse(`{"__proto__": {"v": 1}, "v": 1}`), 'invalid'],
  };
  for (const [name, [input, reason]] of Object.entries(bad)) {
    it(`refuses ${name} as ${reason}`, () => {
      expect(reasonOf(decodeSealedEnvelope(input))).toBe(reason);
    });
  }

  it('refuses text that is too large or not JSON before parsing it', () => {
    expect(reasonOf(parseSealedEnvelope('x'.repeat(MAX_ENVELOPE_BYTES + 1)))).toBe('oversized');
    expect(reasonOf(parseSealedEnvelope('{"v":1,'))).toBe('malformed');
    expect(reasonOf(parseSealedEnvelope(Buffer.from(JSON.stringify(valid()))))).toBe('ok');
  });

  it('never throws, whatever it is given (fast-check)', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBigInt: true }), (v) => {
        decodeSealedEnvelope(v);
        decodeSealedEnvelope({ ...valid(), ct: v });
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        parseSealedEnvelope(s);
      }),
      { numRuns: 1000 },
    );
  });

  it('survives objects whose getters throw', () => {
    const hostile = Object.defineProperty({}, 'v', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(reasonOf(decodeSealedEnvelope(hostile))).toBe('malformed');
  });
});

describe('push frame', () => {
  const sidHash = randomBytes(8);

  it('round-trips header fields and exposes views, not copies', () => {
    const frame = encodePushFrame(sidHash, 7, 2 ** 40 + 5, ct);
    expect(frame.length).toBe(PUSH_HEADER_LENGTH + ct.length);
    expect(frame[0]).toBe(1);
    const r = decodePushFrame(frame);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.epoch).toBe(7);
    expect(r.value.seq).toBe(2 ** 40 + 5);
    expect(r.value.sidHash.equals(sidHash)).toBe(true);
    expect(r.value.ciphertext.equals(ct)).toBe(true);
    expect(r.value.ciphertext.buffer).toBe(frame.buffer);
  });

  it('refuses bad frames with a reason', () => {
    const frame = encodePushFrame(sidHash, 0, 0, ct);
    const v2 = Buffer.from(frame);
    v2[0] = 2;
    const hugeSeq = Buffer.from(frame);
    hugeSeq.writeUInt32BE(2 ** 21, 9 + 4);
    expect(reasonOf(decodePushFrame('frame'))).toBe('malformed');
    expect(reasonOf(decodePushFrame(Buffer.alloc(0)))).toBe('malformed');
    expect(reasonOf(decodePushFrame(v2))).toBe('unsupported-version');
    expect(reasonOf(decodePushFrame(frame.subarray(0, PUSH_HEADER_LENGTH + 15)))).toBe('malformed');
    expect(reasonOf(decodePushFrame(Buffer.alloc(MAX_PUSH_FRAME_BYTES + 1, 1)))).toBe('oversized');
    expect(reasonOf(decodePushFrame(hugeSeq))).toBe('invalid');
  });

  it('refuses to encode impossible header values', () => {
    expect(thrownCode(() => encodePushFrame(randomBytes(7), 0, 0, ct))).toBe(
      'ERR_INVALID_ARGUMENT',
    );
    expect(thrownCode(() => encodePushFrame(sidHash, 2 ** 32, 0, ct))).toBe('ERR_INVALID_ARGUMENT');
    expect(thrownCode(() => encodePushFrame(sidHash, 0, -1, ct))).toBe('ERR_INVALID_ARGUMENT');
  });

  it('never throws on arbitrary bytes (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        decodePushFrame(bytes);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('inner payloads', () => {
  it('round-trips requests, responses and push payloads', () => {
    const req = { method: 'POST' as const, path: '/rooms/r1/messages', body: { text: 'hi' } };
    expect(decodeInnerRequest(encodeInnerRequest(req))).toEqual({ ok: true, value: req });
    const res = { status: 201, body: [1, 2] };
    expect(decodeInnerResponse(encodeInnerResponse(res))).toEqual({ ok: true, value: res });
    const push = { type: 'room.message', roomId: 'r1', n: 3 };
    expect(decodeInnerPush(encodeInnerPush(push))).toEqual({ ok: true, value: push });
  });

  it('refuses oversized and invalid payloads when sealing', () => {
    const big = { method: 'POST' as const, path: '/x', body: 'a'.repeat(MAX_INNER_BYTES) };
    expect(thrownCode(() => encodeInnerRequest(big))).toBe('ERR_BODY_TOO_LARGE');
    expect(thrownCode(() => encodeInnerRequest({ method: 'TRACE', path: '/x' } as never))).toBe(
      'ERR_INVALID_ARGUMENT',
    );
    expect(thrownCode(() => encodeInnerResponse({ status: 99 }))).toBe('ERR_INVALID_ARGUMENT');
    expect(thrownCode(() => encodeInnerPush({ type: 'Bad Type' }))).toBe('ERR_INVALID_ARGUMENT');
    const cyclic: Record<string, unknown> = { type: 'x' };
    cyclic.self = cyclic;
    expect(thrownCode(() => encodeInnerPush(cyclic as never))).toBe('ERR_INVALID_ARGUMENT');
  });

  it('returns errors, never throws, for bad opened bytes', () => {
    expect(reasonOf(decodeInnerRequest(Buffer.from('not json')))).toBe('malformed');
    expect(reasonOf(decodeInnerRequest(Buffer.from('{"method":"GET","path":"x"}')))).toBe(
      'invalid',
    );
    expect(reasonOf(decodeInnerResponse(Buffer.from('{"status":200,"x":1}')))).toBe('invalid');
    expect(reasonOf(decodeInnerPush(Buffer.from('{"kind":"x"}')))).toBe('invalid');
    expect(reasonOf(decodeInnerPush(Buffer.alloc(70_000, 0x20)))).toBe('oversized');
  });
});

describe('re-key bodies', () => {
  const eph = randomBytes(32).toString('base64url');

  it('accept the four shapes', () => {
    expect(decodeRekeyRequestBody({ type: 'rekey', epoch: 1, eph }).ok).toBe(true);
    expect(decodeRekeyRequestBody({ type: 'rekey.confirm', epoch: 1 }).ok).toBe(true);
    expect(decodeRekeyResponseBody({ type: 'rekey.accept', epoch: 1, eph, for: eph }).ok).toBe(
      true,
    );
    expect(decodeRekeyResponseBody({ type: 'rekey.reject', epoch: 1, reason: 'conflict' }).ok).toBe(
      true,
    );
  });

  it('refuse epoch 0, wrong key lengths and non-canonical keys', () => {
    expect(decodeRekeyRequestBody({ type: 'rekey', epoch: 0, eph }).ok).toBe(false);
    const short = randomBytes(31).toString('base64url');
    expect(decodeRekeyRequestBody({ type: 'rekey', epoch: 1, eph: short }).ok).toBe(false);
    const noncanonical = `${eph.slice(0, 42)}B`;
    expect(decodeRekeyRequestBody({ type: 'rekey', epoch: 1, eph: noncanonical }).ok).toBe(false);
    expect(decodeRekeyResponseBody({ type: 'rekey.reject', epoch: 1, reason: 'x' }).ok).toBe(false);
  });
});
