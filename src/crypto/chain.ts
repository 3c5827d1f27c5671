/**
 * The symmetric ratchet of one session direction (protocol §2.6, §3): from chain key `ck_n`,
 *
 * ```
 * mk_n     = HMAC-SHA256(ck_n, 0x01)   the message key of message n (used once per purpose)
 * ck_{n+1} = HMAC-SHA256(ck_n, 0x02)   the next chain key; ck_n is wiped
 * ```
 *
 * A sending chain hands out `{seq, key}` in order. A receiving chain derives keys on demand and
 * guards against replays with a sliding window: a message opens only if its seq was never accepted
 * and lies above `highest − window`; keys of skipped (not yet arrived) seqs are kept, bounded.
 *
 * Receiving is two steps so that nothing unauthenticated moves the window (RFC 4302 §3.4.3):
 * `lookup(seq)` returns the key without consuming it, and `accept(seq)` consumes it only after the
 * AEAD tag verified. `lookup` may derive keys ahead of `highest`, but only up to `maxSkip` past the
 * highest *authenticated* seq, and derived keys stay cached, so a forged far-ahead seq costs the
 * derivation once and cannot push the window. Stored keys therefore stay below
 * `window + maxSkip`, and `maxStored` caps them anyway (oldest dropped first).
 */
import { AppError } from '../errors.js';
import { wipe } from './bytes.js';
import { hmacSha256 } from './hash.js';

/** Length of chain keys and message keys. */
export const CHAIN_KEY_LENGTH = 32;
/** Default replay window: seqs more than this far below the highest accepted one are refused. */
export const REPLAY_WINDOW = 256;
/** Default largest jump past the highest accepted seq a receiver derives keys for. */
export const MAX_SKIP = 1024;
/** Default cap on message keys a receiving chain stores (window + lookahead fits below it). */
export const MAX_STORED_KEYS = 2000;
/** Default cap on messages one sending chain seals; the session re-keys long before this. */
export const DEFAULT_CHAIN_LIMIT = 65_536;

const MESSAGE_KEY_INPUT = Buffer.of(0x01);
const CHAIN_KEY_INPUT = Buffer.of(0x02);

/** One message key and the seq it belongs to. Whoever receives it must `wipe` it after use. */
export interface MessageKey {
  readonly seq: number;
  readonly key: Buffer;
}

/**
 * One ratchet step, without side effects: the message key of `chainKey` and the next chain key.
 *
 * @example
 * const { messageKey, nextChainKey } = ratchetStep(ck0); // mk_0, ck_1
 */
export function ratchetStep(chainKey: Uint8Array): { messageKey: Buffer; nextChainKey: Buffer } {
  return {
    messageKey: hmacSha256(chainKey, MESSAGE_KEY_INPUT),
    nextChainKey: hmacSha256(chainKey, CHAIN_KEY_INPUT),
  };
}

/** Copy the caller's 32-byte chain key into a buffer the chain owns, and wipe the original. */
function takeChainKey(chainKey: Uint8Array): Buffer {
  if (chainKey.byteLength !== CHAIN_KEY_LENGTH) {
    throw new AppError('ERR_CRYPTO_INPUT', 'chain: chain key must be 32 bytes');
  }
  const own = Buffer.from(chainKey);
  wipe(chainKey);
  return own;
}

function destroyedChain(): AppError {
  return new AppError('ERR_CRYPTO_INPUT', 'chain: destroyed');
}

export interface SendingChain {
  /** The seq the next `next()` returns (= messages sealed so far). */
  readonly nextSeq: number;
  /** Messages left before `next()` refuses with `ERR_NONCE_EXHAUSTED`. */
  readonly remaining: number;
  readonly isDestroyed: boolean;
  /** The next message key, in order from seq 0. The caller owns `key` and must wipe it. */
  next(): MessageKey;
  /** Wipe the chain key; every later call throws. */
  destroy(): void;
}

/**
 * A sending chain from a 32-byte chain key. The chain **takes** the key: the caller's buffer is
 * wiped, and each chain key is wiped as soon as the next one exists. After `limit` messages `next()`
 * throws `ERR_NONCE_EXHAUSTED`: never seal beyond the cap, re-key instead.
 *
 * @example
 * const chain = createSendingChain(material.chains.sendRequests);
 * const { seq, key } = chain.next();
 * try { sealed = gcmSeal(key, ZERO_NONCE, plaintext, aadFor(seq)); } finally { wipe(key); }
 */
export function createSendingChain(
  chainKey: Uint8Array,
  options: { readonly limit?: number } = {},
): SendingChain {
  const limit = options.limit ?? DEFAULT_CHAIN_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new AppError('ERR_CRYPTO_INPUT', 'chain: limit must be a non-negative integer');
  }
  let ck: Buffer | undefined = takeChainKey(chainKey);
  let seq = 0;
  return {
    get nextSeq() {
      return seq;
    },
    get remaining() {
      return limit - seq;
    },
    get isDestroyed() {
      return ck === undefined;
    },
    next() {
      if (ck === undefined) throw destroyedChain();
      if (seq >= limit) {
        throw new AppError('ERR_NONCE_EXHAUSTED', 'message limit for this chain reached; re-key');
      }
      const { messageKey, nextChainKey } = ratchetStep(ck);
      wipe(ck);
      ck = nextChainKey;
      return { seq: seq++, key: messageKey };
    },
    destroy() {
      wipe(ck);
      ck = undefined;
    },
  };
}

/** Why a receiving chain has no key for a seq. */
export type ChainLookupFailure = 'replayed' | 'too-far';

export type ChainLookup =
  | { readonly ok: true; readonly key: Buffer }
  | { readonly ok: false; readonly reason: ChainLookupFailure };

export interface ReceivingChainOptions {
  /** Replay window (default 256): seq ≤ highest − window is refused as a replay. */
  readonly window?: number;
  /** Largest seq − highest a key is derived for (default 1024); beyond it, `too-far`. */
  readonly maxSkip?: number;
  /** Cap on stored message keys (default 2000); past it the oldest are dropped. */
  readonly maxStored?: number;
}

export interface ReceivingChain {
  /** Highest seq accepted so far, −1 before the first. */
  readonly highestSeq: number;
  /** Message keys held for seqs not yet received (skipped or derived ahead). */
  readonly storedKeys: number;
  readonly isDestroyed: boolean;
  /**
   * The key for `seq` if it may still be received, deriving forward when needed. Consumes nothing:
   * the key stays owned by the chain until `accept(seq)`. `replayed` covers seqs already accepted,
   * below the window, or whose key was dropped; `too-far` a jump past `maxSkip`.
   */
  lookup(seq: number): ChainLookup;
  /**
   * Mark `seq` received, after its message authenticated under the key `lookup` returned just
   * before (same tick). Returns that key, now owned by the caller (wipe it). Slides the window.
   */
  accept(seq: number): Buffer;
  /** Wipe the chain key and every stored message key. */
  destroy(): void;
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new AppError('ERR_CRYPTO_INPUT', `chain: ${name} must be a positive integer`);
  }
  return v;
}

/**
 * A receiving chain with a replay window, from a 32-byte chain key (taken and wiped like
 * `createSendingChain`'s).
 *
 * @example
 * const chain = createReceivingChain(material.chains.recvRequests);
 * const found = chain.lookup(envelope.seq);
 * if (!found.ok) throw found.reason === 'replayed' ? replayed() : decryptFailed();
 * const plaintext = gcmOpen(found.key, ZERO_NONCE, ct, aadFor(envelope.seq)); // throws if forged
 * wipe(chain.accept(envelope.seq));
 */
export function createReceivingChain(
  chainKey: Uint8Array,
  options: ReceivingChainOptions = {},
): ReceivingChain {
  const window = positiveInt(options.window, REPLAY_WINDOW, 'window');
  const maxSkip = positiveInt(options.maxSkip, MAX_SKIP, 'maxSkip');
  const maxStored = positiveInt(options.maxStored, MAX_STORED_KEYS, 'maxStored');
  let ck: Buffer | undefined = takeChainKey(chainKey);
  /** Seq of the key `ck` would give next: every seq below it was derived already. */
  let derived = 0;
  let highest = -1;
  // Inserted only in increasing seq order, so iteration order is oldest first.
  const keys = new Map<number, Buffer>();

  const dropOldestWhile = (shouldDrop: (seq: number) => boolean): void => {
    for (const [seq, key] of keys) {
      if (!shouldDrop(seq)) return;
      wipe(key);
      keys.delete(seq);
    }
  };

  const deriveThrough = (target: number, current: Buffer): Buffer => {
    let chain = current;
    while (derived <= target) {
      const { messageKey, nextChainKey } = ratchetStep(chain);
      wipe(chain);
      chain = nextChainKey;
      keys.set(derived++, messageKey);
    }
    if (keys.size > maxStored) dropOldestWhile(() => keys.size > maxStored);
    return chain;
  };

  return {
    get highestSeq() {
      return highest;
    },
    get storedKeys() {
      return keys.size;
    },
    get isDestroyed() {
      return ck === undefined;
    },
    lookup(seq) {
      if (ck === undefined) throw destroyedChain();
      if (!Number.isSafeInteger(seq) || seq < 0) return { ok: false, reason: 'too-far' };
      if (seq <= highest - window) return { ok: false, reason: 'replayed' };
      if (seq >= derived) {
        if (seq - highest > maxSkip) return { ok: false, reason: 'too-far' };
        ck = deriveThrough(seq, ck);
      }
      const key = keys.get(seq);
      return key === undefined ? { ok: false, reason: 'replayed' } : { ok: true, key };
    },
    accept(seq) {
      const key = keys.get(seq);
      if (ck === undefined || key === undefined) {
        throw new AppError('ERR_CRYPTO_INPUT', 'chain: accept without a successful lookup');
      }
      keys.delete(seq);
      if (seq > highest) {
        highest = seq;
        const floor = highest - window;
        dropOldestWhile((s) => s <= floor);
      }
      return key;
    },
    destroy() {
      wipe(ck);
      ck = undefined;
      for (const key of keys.values()) wipe(key);
      keys.clear();
    },
  };
}
