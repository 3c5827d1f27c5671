/**
 * Lowercase base32 (RFC 4648 alphabet, no padding) for secret file names: reversible, and safe on
 * case-insensitive file systems where ids differing only in case must not share a file.
 */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * Lowercase RFC 4648 base32 without padding.
 *
 * @example
 * base32Encode(Buffer.from('room:r1')); // 'ojxw63j2oiyq'
 */
export function base32Encode(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Decode `base32Encode` output; `undefined` for any other spelling (only the canonical form maps
 * back, so one id has exactly one file name).
 *
 * @example
 * base32Decode('ojxw63j2oiyq')?.toString(); // 'room:r1'
 */
export function base32Decode(text: string): Buffer | undefined {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of text) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) return undefined;
    value = ((value << 5) | digit) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  const decoded = Buffer.from(out);
  return base32Encode(decoded) === text ? decoded : undefined;
}
