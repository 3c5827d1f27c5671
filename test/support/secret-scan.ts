/**
 * Looks for secret bytes in text or files, in every form a leak would take: raw bytes, hex (either
 * case), base64 and base64url. Any 16-byte (raw, hex) or 12-byte (base64) slice of a secret is a
 * needle, so a part of a secret (one chain key of a derived block), or a secret embedded anywhere
 * in a longer encoded value, is found too: every 12-byte window is tried, so some window always
 * lands on a 3-byte group boundary of the larger base64 encoding.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';

export interface Secret {
  readonly name: string;
  readonly bytes: Buffer;
  /**
   * Only the start is distinctive (a PKCS#8 DER opens with an algorithm identifier that the
   * public key shares); its components are listed as secrets of their own.
   */
  readonly isHeadOnly?: boolean;
}

export interface Haystack {
  readonly where: string;
  readonly data: string | Buffer;
}

/** Bytes per window; secrets shorter than this plus two alignment bytes are not scanned. */
const WINDOW = 12;
const RAW_WINDOW = 16;
export const MIN_SECRET_BYTES = RAW_WINDOW;

type Needles = Map<number, Map<string, string>>;

function add(needles: Needles, needle: string, label: string): void {
  let byLength = needles.get(needle.length);
  if (!byLength) {
    byLength = new Map();
    needles.set(needle.length, byLength);
  }
  byLength.set(needle, label);
}

function needlesOf(secrets: readonly Secret[]): Needles {
  const needles: Needles = new Map();
  for (const s of secrets) {
    if (s.bytes.length < MIN_SECRET_BYTES) continue;
    const lastRaw = s.isHeadOnly ? 0 : s.bytes.length - RAW_WINDOW;
    for (let off = 0; off <= lastRaw; off++) {
      const w = s.bytes.subarray(off, off + RAW_WINDOW);
      add(needles, w.toString('latin1'), `${s.name} (raw)`);
      add(needles, w.toString('hex'), `${s.name} (hex)`);
      add(needles, w.toString('hex').toUpperCase(), `${s.name} (HEX)`);
    }
    const lastB64 = s.isHeadOnly ? 2 : s.bytes.length - WINDOW;
    for (let off = 0; off <= lastB64; off++) {
      const w = s.bytes.subarray(off, off + WINDOW);
      add(needles, w.toString('base64'), `${s.name} (base64)`);
      add(needles, w.toString('base64url'), `${s.name} (base64url)`);
    }
  }
  return needles;
}

/** Every `where: secret (form)` found; empty when nothing leaked. */
export function findLeaks(haystacks: readonly Haystack[], secrets: readonly Secret[]): string[] {
  const needles = needlesOf(secrets);
  const found = new Set<string>();
  for (const h of haystacks) {
    const text = typeof h.data === 'string' ? h.data : h.data.toString('latin1');
    // Text is scanned as UTF-8 bytes too, so raw bytes inside a string are found either way.
    const variants =
      typeof h.data === 'string' ? [text, Buffer.from(text).toString('latin1')] : [text];
    for (const v of variants) {
      for (const [length, byNeedle] of needles) {
        for (let i = 0; i + length <= v.length; i++) {
          const label = byNeedle.get(v.slice(i, i + length));
          if (label !== undefined) found.add(`${h.where}: ${label}`);
        }
      }
    }
  }
  return [...found];
}

interface Tlv {
  readonly tag: number;
  readonly value: Buffer;
  readonly end: number;
}

function readTlv(buf: Buffer, at: number): Tlv | undefined {
  const tag = buf[at];
  let len = buf[at + 1];
  if (tag === undefined || len === undefined) return undefined;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > buf.length) return undefined;
    len = buf.readUIntBE(start, n);
    start += n;
  }
  const end = start + len;
  return end <= buf.length ? { tag, value: buf.subarray(start, end), end } : undefined;
}

/** Every TLV in `buf` back to back, or undefined when `buf` is not exactly a DER sequence of them. */
function readAll(buf: Buffer): Tlv[] | undefined {
  const out: Tlv[] = [];
  for (let at = 0; at < buf.length;) {
    const t = readTlv(buf, at);
    if (!t) return undefined;
    out.push(t);
    at = t.end;
  }
  return out;
}

/** The long INTEGERs and innermost OCTET STRINGs of a DER structure (key components). */
function derLeaves(buf: Buffer, depth = 0): Buffer[] {
  const tlvs = depth < 8 ? readAll(buf) : undefined;
  if (!tlvs) return [];
  return tlvs.flatMap((t) => {
    if (t.tag === 0x30) return derLeaves(t.value, depth + 1);
    if (t.tag === 0x04) {
      const inner = derLeaves(t.value, depth + 1);
      return inner.length > 0 ? inner : [t.value];
    }
    if (t.tag === 0x03) {
      const inner = derLeaves(t.value.subarray(1), depth + 1);
      return inner.length > 0 ? inner : [t.value.subarray(1)];
    }
    if (t.tag === 0x02) return [t.value[0] === 0 ? t.value.subarray(1) : t.value];
    return [];
  });
}

/**
 * A private key's secret parts: its PKCS#8 DER and every long component inside (d, p, q, the
 * Ed25519 seed…), minus the public ones (the RSA modulus is in the public key, and public).
 */
export function privateKeySecrets(name: string, key: KeyObject): Secret[] {
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const isPublic = (b: Buffer): boolean => derLeaves(spki).some((p) => p.equals(b));
  const parts = derLeaves(der).filter((b) => b.length >= 16 && !isPublic(b));
  return [
    { name: `${name} pkcs8`, bytes: der, isHeadOnly: true },
    ...parts.map((bytes, i) => ({ name: `${name} component ${i}`, bytes })),
  ];
}
