/**
 * `encodeFields` against the layout it documents, written out the plain way (one buffer per
 * field, then concatenated): the production version sizes first and writes into one buffer, and
 * must give the same bytes — and refuse the same inputs — for every domain and field list.
 * Every signature, AAD and KDF context depends on these bytes not changing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFields, type Field } from '../../src/crypto/bytes.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function refuse(): never {
  throw new Error('refused');
}

function utf8(text: string): Buffer {
  if (LONE_SURROGATE.test(text)) refuse();
  return Buffer.from(text, 'utf8');
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** The layout in `bytes.ts`'s doc comment, field by field. */
function reference(domain: string, fields: readonly Field[]): Buffer {
  if (domain.length === 0) refuse();
  const d = utf8(domain);
  const parts: Buffer[] = [
    Buffer.from('conclave/v1', 'latin1'),
    u32(d.length),
    d,
    u32(fields.length),
  ];
  for (const f of fields) {
    let tag: number;
    let body: Buffer;
    if (typeof f === 'string') [tag, body] = [2, utf8(f)];
    else if (typeof f === 'number') {
      if (!Number.isSafeInteger(f)) refuse();
      body = Buffer.alloc(8);
      body.writeBigInt64BE(BigInt(f));
      tag = 3;
    } else if (typeof f === 'bigint') {
      const mag = f < 0n ? -f : f;
      const hex = mag === 0n ? '' : mag.toString(16);
      body = Buffer.concat([
        Buffer.of(f < 0n ? 1 : 0),
        Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex'),
      ]);
      tag = 4;
    } else [tag, body] = [1, Buffer.from(f)];
    parts.push(Buffer.of(tag), u32(body.length), body);
  }
  return Buffer.concat(parts);
}

const outcome = (f: () => Buffer): string => {
  try {
    return f().toString('hex');
  } catch {
    return 'refused';
  }
};

const field: fc.Arbitrary<Field> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)) }),
  fc.maxSafeInteger(),
  fc.constantFrom(0, -0, 1, -1, 2 ** 32, 2 ** 32 - 1, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53) + 1),
  fc.constantFrom(0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -(2 ** 53)),
  fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n }),
  fc.uint8Array({ maxLength: 40 }),
);

describe('encodeFields', () => {
  it('gives the documented layout, byte for byte, and refuses the same inputs', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 8 })),
        fc.array(field, { maxLength: 8 }),
        (d, fs) => {
          expect(outcome(() => encodeFields(d, fs))).toBe(outcome(() => reference(d, fs)));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('writes a number field as i64, negative ones in two’s complement', () => {
    const tail = (n: number) => encodeFields('d', [n]).subarray(-8).toString('hex');
    expect(tail(2 ** 32 + 5)).toBe('0000000100000005');
    expect(tail(-1)).toBe('ffffffffffffffff');
    expect(tail(-0)).toBe('0000000000000000');
    expect(tail(2 ** 53 - 1)).toBe('001fffffffffffff');
  });
});
