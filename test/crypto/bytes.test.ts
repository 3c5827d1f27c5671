import { describe, expect, it } from 'vitest';
import {
  constantTimeEqual,
  encodeFields,
  fromBase64Url,
  toBase64Url,
  wipe,
  type Field,
} from '../../src/crypto/bytes.js';
import { thrownCode } from './wycheproof.js';

describe('constantTimeEqual', () => {
  it('returns true when the bytes are equal', () => {
    expect(constantTimeEqual(Buffer.from('abc'), new Uint8Array([0x61, 0x62, 0x63]))).toBe(true);
  });

  it('returns false when one byte differs', () => {
    expect(constantTimeEqual(Buffer.from('abc'), Buffer.from('abd'))).toBe(false);
  });

  it('returns false without throwing when the lengths differ', () => {
    expect(constantTimeEqual(Buffer.from('abc'), Buffer.from('abcd'))).toBe(false);
    expect(constantTimeEqual(Buffer.alloc(0), Buffer.alloc(1))).toBe(false);
  });
});

describe('encodeFields', () => {
  it('starts with the magic and is deterministic', () => {
    const a = encodeFields('d', ['x', 1, 2n, Buffer.from([1])]);
    expect(a.subarray(0, 11).toString()).toBe('conclave/v1');
    expect(a.equals(encodeFields('d', ['x', 1, 2n, Buffer.from([1])]))).toBe(true);
  });

  it('gives different bytes when the same concatenation is split differently', () => {
    expect(encodeFields('d', ['ab', 'c']).equals(encodeFields('d', ['a', 'bc']))).toBe(false);
    expect(encodeFields('d', ['abc']).equals(encodeFields('d', ['ab', 'c']))).toBe(false);
    expect(
      encodeFields('d', [Buffer.from('ab'), Buffer.from('')]).equals(
        encodeFields('d', [Buffer.from('ab')]),
      ),
    ).toBe(false);
  });

  it('gives different bytes when the domain moves into the fields', () => {
    expect(encodeFields('ab', ['c']).equals(encodeFields('a', ['bc']))).toBe(false);
    expect(encodeFields('a', ['b']).equals(encodeFields('a b', []))).toBe(false);
  });

  it('gives different bytes when only the field type differs', () => {
    const variants: Field[][] = [
      [5],
      [5n],
      ['5'],
      [Buffer.from('5')],
      [Buffer.from([0, 0, 0, 0, 0, 0, 0, 5])],
    ];
    const encodings = variants.map((fields) => encodeFields('d', fields).toString('hex'));
    expect(new Set(encodings).size).toBe(variants.length);
  });

  it('keeps many distinct field lists distinct', () => {
    const lists: Field[][] = [
      [],
      [''],
      ['', ''],
      [Buffer.alloc(0)],
      [0],
      [-1],
      [0n],
      [-1n],
      [1n],
      [255n],
      [256n],
      [-256n],
      [2n ** 64n],
      [Number.MAX_SAFE_INTEGER],
      [Number.MIN_SAFE_INTEGER],
      ['é'],
      ['e\u0301'],
      ['a', 1],
      [1, 'a'],
    ];
    const encodings = lists.map((fields) => encodeFields('d', fields).toString('hex'));
    expect(new Set(encodings).size).toBe(lists.length);
  });

  it('refuses what it cannot encode injectively', () => {
    expect(thrownCode(() => encodeFields('', []))).toBe('ERR_INVALID_ARGUMENT');
    expect(thrownCode(() => encodeFields('d', [1.5]))).toBe('ERR_INVALID_ARGUMENT');
    expect(thrownCode(() => encodeFields('d', [Number.NaN]))).toBe('ERR_INVALID_ARGUMENT');
    expect(thrownCode(() => encodeFields('d', [2 ** 53]))).toBe('ERR_INVALID_ARGUMENT');
    // A lone surrogate would become U+FFFD in UTF-8 and collide with a real U+FFFD.
    expect(thrownCode(() => encodeFields('d', ['\uD800']))).toBe('ERR_INVALID_ARGUMENT');
    expect(thrownCode(() => encodeFields('\uDC00', []))).toBe('ERR_INVALID_ARGUMENT');
    expect(thrownCode(() => encodeFields('d', ['\uD83D\uDE00']))).toBe('none');
  });

  it('lays fields out as tag, u32 length and body', () => {
    const out = encodeFields('d', [Buffer.from([0xaa, 0xbb])]);
    expect(out.toString('hex')).toBe(
      Buffer.from('conclave/v1').toString('hex') +
        '00000001' +
        '64' +
        '00000001' +
        '01' +
        '00000002' +
        'aabb',
    );
  });
});

describe('base64url', () => {
  it('round-trips bytes when encoded and decoded', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0x00, 0x10]);
    expect(fromBase64Url(toBase64Url(bytes)).equals(bytes)).toBe(true);
    expect(toBase64Url(Buffer.from([0xfb, 0xff]))).toBe('-_8');
  });

  it('encodes a subarray without the rest of its buffer', () => {
    const whole = Buffer.from('hello world');
    expect(toBase64Url(whole.subarray(6))).toBe(Buffer.from('world').toString('base64url'));
  });

  it('refuses non-canonical input when decoding', () => {
    for (const bad of ['-_8=', '-_ 8', '+/8', 'a', '-_9', 'ab\n', 'AAA*']) {
      expect(thrownCode(() => fromBase64Url(bad))).toBe('ERR_INVALID_ARGUMENT');
    }
  });

  it('checks the length when one is expected', () => {
    expect(fromBase64Url(toBase64Url(Buffer.alloc(32)), 32).length).toBe(32);
    expect(thrownCode(() => fromBase64Url(toBase64Url(Buffer.alloc(31)), 32))).toBe(
      'ERR_INVALID_ARGUMENT',
    );
  });
});

describe('wipe', () => {
  it('zeroes the buffer when given one and ignores undefined', () => {
    const b = Buffer.from('secret');
    wipe(b);
    expect(b.every((x) => x === 0)).toBe(true);
    expect(() => wipe(undefined)).not.toThrow();
  });
});
