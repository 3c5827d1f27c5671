/**
 * Short authentication strings: a human-comparable digest of a handshake transcript. Both sides of
 * an unmodified handshake compute the same SAS; a man in the middle runs two handshakes with
 * different transcripts and must make their SASes match.
 */
import { AppError } from '../errors.js';
import { hkdfSha256, Labels } from './hkdf.js';

/** Groups in a SAS. */
export const SAS_GROUPS = 4;
/** Decimal digits per group. */
export const SAS_GROUP_DIGITS = 5;
/** Entropy of a SAS in bits: 4 × log2(10^5) ≈ 66.4. */
export const SAS_ENTROPY_BITS = SAS_GROUPS * SAS_GROUP_DIGITS * Math.log2(10);

const MODULUS = 10n ** BigInt(SAS_GROUP_DIGITS);

/**
 * The SAS for a 32-byte transcript hash: 4 groups of 5 decimal digits (`'01234 56789 …'`, the
 * grouping of Signal safety numbers), about 66 bits. Why that many: the attacker in the middle sees
 * both transcripts before choosing its last message, so it can grind for a match offline within
 * the handshake's freshness window; 2^66 work makes that infeasible without a commitment step,
 * while 20 digits remain easy to read aloud.
 *
 * Each group is an HKDF-SHA256 output (`Labels.sas`) u64 reduced mod 10^5 (bias below 2^-46).
 *
 * @example
 * const sas = computeSas(transcriptHash); // same string on both peers
 */
export function computeSas(transcriptHash: Uint8Array): string {
  if (transcriptHash.byteLength !== 32) {
    throw new AppError('ERR_CRYPTO_INPUT', 'sas: transcript hash must be 32 bytes');
  }
  const okm = hkdfSha256(transcriptHash, Buffer.alloc(0), Labels.sas, SAS_GROUPS * 8);
  const groups: string[] = [];
  for (let i = 0; i < SAS_GROUPS; i++) {
    const value = okm.readBigUInt64BE(i * 8) % MODULUS;
    groups.push(value.toString().padStart(SAS_GROUP_DIGITS, '0'));
  }
  return groups.join(' ');
}
