/**
 * The re-key protocol of a session (protocol §4.2): a fresh X25519 exchange carried in sealed
 * requests, mixed with the current root into the next epoch's keys.
 *
 * ```
 * initiator                                   peer
 *   rekey {epoch: e+1, eph: E_i}   ──sealed e──▶  derive e+1, install for receiving
 *   ◀──sealed response e── rekey.accept {epoch: e+1, eph: E_r, for: E_i}
 * derive e+1, send on e+1 from now
 *   rekey.confirm {epoch: e+1}     ──sealed e+1─▶ first e+1 message opened: send on e+1 too
 * ```
 *
 * Either side may start. If both start the same epoch at once, the handshake **requester**'s
 * re-key wins: the requester refuses the peer's (`conflict`), the responder drops its own and
 * answers the requester's. Retries are idempotent: a re-sent `rekey` carries the same ephemeral key
 * and is answered with the same one. Nothing is wiped on the peer's side until the initiator proves
 * it holds the new keys by using them.
 *
 * The confirmation is owed until the peer is seen on the new epoch (any message of its under it
 * opens, the `rekey.confirmed` answer included): until then `start` hands out `rekey.confirm` again,
 * so a confirmation lost in transit is re-sent with the next traffic instead of leaving the peer
 * sealing under the old epoch for good.
 */
import {
  fromBase64Url,
  generateX25519KeyPair,
  toBase64Url,
  wipe,
  x25519SharedSecret,
  type X25519KeyPair,
} from '../../crypto/index.js';
import { AppError } from '../../errors.js';
import {
  decodeRekeyRequestBody,
  decodeRekeyResponseBody,
  REKEY_PATH,
  type InnerRequest,
  type InnerResponse,
} from '../../protocol/sealed.codec.js';
import { deriveRekeyEpoch, type EpochKeys, type EpochLimits } from './epoch-keys.js';
import type { SessionRole } from './session-material.js';

/** What the session's key ring offers the re-key protocol. */
export interface RekeyHost {
  readonly sid: string;
  readonly role: SessionRole;
  readonly limits: EpochLimits;
  current(): EpochKeys;
  /** The peer-initiated epoch installed for receiving and not yet confirmed, if any. */
  next(): EpochKeys | undefined;
  /** Install a peer-initiated epoch for receiving (replacing an unconfirmed one). */
  install(next: EpochKeys): void;
  /** Our own re-key completed: send on `next` from now on. */
  switchTo(next: EpochKeys): void;
  /** After our own re-key: the peer has not been seen on the current epoch yet. */
  isPeerBehind(): boolean;
  /** Answers to requests sealed under the epoch before the current one are still awaited. */
  isPreviousAwaited(): boolean;
}

/**
 * `awaiting-response`: our `rekey` is unanswered; `confirming`: ours completed and the peer has not
 * been seen on the new epoch yet (the confirmation is owed); `awaiting-confirmation`: the peer's
 * re-key is installed and waits for its first message under the new epoch.
 */
export type RekeyState = 'idle' | 'awaiting-response' | 'confirming' | 'awaiting-confirmation';

export interface StartedRekey {
  /** The inner request to seal with `sealRequest` and send. */
  readonly request: InnerRequest;
  readonly epoch: number;
  /** True when this repeats a re-key already under way (same ephemeral key). */
  readonly isRetry: boolean;
  /** True when this re-sends the confirmation of our completed re-key (state `confirming`). */
  readonly isConfirm: boolean;
}

export interface HandledRekey {
  /** The inner response to seal with `sealResponse`. */
  readonly response: InnerResponse;
  readonly outcome: 'accepted' | 'repeated' | 'rejected' | 'confirmed';
  readonly epoch: number;
  /** Our own re-key of the same epoch was dropped because the requester's wins. */
  readonly abandonedOwn: boolean;
}

export interface CompletedRekey {
  readonly outcome: 'completed' | 'rejected' | 'failed' | 'ignored';
  readonly epoch: number;
  /** After `completed`: the confirmation request to seal (now under the new epoch) and send. */
  readonly confirm?: InnerRequest;
}

export interface RekeyProtocol {
  readonly state: RekeyState;
  /**
   * Start (or repeat) a re-key, or re-send the owed confirmation while `confirming`; `undefined`
   * while a peer's re-key awaits confirmation.
   */
  start(): StartedRekey | undefined;
  /** Answer an opened request to `REKEY_PATH`. Throws `ERR_INVALID_MESSAGE` for a bad body. */
  handle(request: InnerRequest): HandledRekey;
  /** Apply the opened response to our `rekey` request. */
  complete(response: InnerResponse): CompletedRekey;
  /** Forget any re-key under way (the session is closing). */
  reset(): void;
}

interface Pending {
  readonly epoch: number;
  readonly pair: X25519KeyPair;
  readonly eph: string;
}

interface Answered {
  readonly epoch: number;
  readonly ephInitiator: string;
  readonly ephResponder: string;
}

const reply = (status: number, body: object): InnerResponse => ({ status, body });

const confirmRequest = (epoch: number): InnerRequest => ({
  method: 'POST',
  path: REKEY_PATH,
  body: { type: 'rekey.confirm', epoch },
});

/**
 * @example
 * const rekey = createRekeyProtocol(host, generateX25519KeyPair);
 * const started = rekey.start(); // seal started.request, send it, then rekey.complete(response)
 */
export function createRekeyProtocol(
  host: RekeyHost,
  generateEphemeral: () => X25519KeyPair = generateX25519KeyPair,
): RekeyProtocol {
  const peerRole: SessionRole = host.role === 'requester' ? 'responder' : 'requester';
  let pending: Pending | undefined;
  let answered: Answered | undefined;

  const reject = (epoch: number, reason: 'conflict' | 'stale' | 'invalid', abandonedOwn = false) =>
    ({
      response: reply(409, { type: 'rekey.reject', epoch, reason }),
      outcome: 'rejected',
      epoch,
      abandonedOwn,
    }) as const;

  const accept = (a: Answered, outcome: 'accepted' | 'repeated', abandonedOwn: boolean) =>
    ({
      response: reply(200, {
        type: 'rekey.accept',
        epoch: a.epoch,
        eph: a.ephResponder,
        for: a.ephInitiator,
      }),
      outcome,
      epoch: a.epoch,
      abandonedOwn,
    }) as const;

  const handleStart = (epoch: number, eph: string): HandledRekey => {
    const current = host.current();
    if (epoch !== current.epoch + 1 || current.root === undefined) return reject(epoch, 'stale');
    let abandonedOwn = false;
    if (pending !== undefined) {
      if (pending.epoch === epoch && host.role === 'requester') return reject(epoch, 'conflict');
      abandonedOwn = pending.epoch === epoch;
      pending = undefined;
    }
    const installed = host.next();
    if (installed?.epoch === epoch && answered?.epoch === epoch && answered.ephInitiator === eph) {
      return accept(answered, 'repeated', abandonedOwn);
    }
    const ephInitiator = fromBase64Url(eph, 32);
    const pair = generateEphemeral();
    let shared: Buffer;
    try {
      shared = x25519SharedSecret(pair.privateKey, ephInitiator);
    } catch {
      return reject(epoch, 'invalid', abandonedOwn);
    }
    try {
      host.install(
        deriveRekeyEpoch({
          sid: host.sid,
          role: host.role,
          epoch,
          initiator: peerRole,
          ephInitiator,
          ephResponder: pair.publicKeyRaw,
          root: current.root,
          shared,
          limits: host.limits,
        }),
      );
    } finally {
      wipe(shared);
    }
    answered = { epoch, ephInitiator: eph, ephResponder: toBase64Url(pair.publicKeyRaw) };
    return accept(answered, 'accepted', abandonedOwn);
  };

  return {
    get state() {
      if (pending !== undefined) return 'awaiting-response';
      if (host.next() !== undefined) return 'awaiting-confirmation';
      return host.isPeerBehind() ? 'confirming' : 'idle';
    },
    start() {
      const current = host.current();
      if (host.isPeerBehind()) {
        // No new re-key before the peer follows the last one: it may never have got the confirm.
        const epoch = current.epoch;
        return { request: confirmRequest(epoch), epoch, isRetry: true, isConfirm: true };
      }
      if (host.next() !== undefined || current.root === undefined) return undefined;
      // Not while answers under the previous epoch are still awaited: a new epoch retires it, and
      // with it the keys those answers open under (at most two epochs are kept, §4.2). The wait is
      // bounded: each request is answered, times out, or its epoch's grace runs out.
      if (pending === undefined && host.isPreviousAwaited()) return undefined;
      const epoch = current.epoch + 1;
      const isRetry = pending?.epoch === epoch;
      if (!isRetry) {
        const pair = generateEphemeral();
        pending = { epoch, pair, eph: toBase64Url(pair.publicKeyRaw) };
      }
      const eph = (pending as Pending).eph;
      return {
        request: { method: 'POST', path: REKEY_PATH, body: { type: 'rekey', epoch, eph } },
        epoch,
        isRetry,
        isConfirm: false,
      };
    },
    handle(request) {
      const parsed = request.path === REKEY_PATH ? decodeRekeyRequestBody(request.body) : undefined;
      if (parsed === undefined || !parsed.ok) {
        throw new AppError('ERR_INVALID_MESSAGE', 'not a re-key request');
      }
      const body = parsed.value;
      if (body.type === 'rekey') return handleStart(body.epoch, body.eph);
      // A confirmation arrives sealed under the new epoch, so opening it already switched us.
      if (body.epoch !== host.current().epoch) return reject(body.epoch, 'stale');
      return {
        response: reply(200, { type: 'rekey.confirmed', epoch: body.epoch }),
        outcome: 'confirmed',
        epoch: body.epoch,
        abandonedOwn: false,
      };
    },
    complete(response) {
      const parsed = decodeRekeyResponseBody(response.body);
      const own = pending;
      if (!parsed.ok || own === undefined || parsed.value.epoch !== own.epoch) {
        return { outcome: 'ignored', epoch: parsed.ok ? parsed.value.epoch : 0 };
      }
      const body = parsed.value;
      if (body.type === 'rekey.reject') {
        pending = undefined;
        return { outcome: 'rejected', epoch: own.epoch };
      }
      if (body.type !== 'rekey.accept' || body.for !== own.eph) {
        return { outcome: 'ignored', epoch: own.epoch };
      }
      pending = undefined;
      const current = host.current();
      if (current.epoch + 1 !== own.epoch || current.root === undefined) {
        return { outcome: 'ignored', epoch: own.epoch };
      }
      const ephResponder = fromBase64Url(body.eph, 32);
      let shared: Buffer;
      try {
        shared = x25519SharedSecret(own.pair.privateKey, ephResponder);
      } catch {
        return { outcome: 'failed', epoch: own.epoch };
      }
      try {
        host.switchTo(
          deriveRekeyEpoch({
            sid: host.sid,
            role: host.role,
            epoch: own.epoch,
            initiator: host.role,
            ephInitiator: own.pair.publicKeyRaw,
            ephResponder,
            root: current.root,
            shared,
            limits: host.limits,
          }),
        );
      } finally {
        wipe(shared);
      }
      return { outcome: 'completed', epoch: own.epoch, confirm: confirmRequest(own.epoch) };
    },
    reset() {
      pending = undefined;
      answered = undefined;
    },
  };
}
