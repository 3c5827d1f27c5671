/**
 * The requester's imperative shell around `handshake-requester.machine`: builds and posts the
 * offer, parses the accept, computes the facts, lets the machine decide, posts the confirm and
 * checks the responder's `hs.done` MAC. Independent of HTTP: `post` is injected (the peer client
 * in production, the responder's handlers directly in tests and benchmarks).
 *
 * Resolves, never rejects, for anything the network or the peer does: `{ ok: false, reason }`
 * with the machine's reason. It rejects only for a programming error (e.g. offering RSA without
 * a transport key).
 */
import type { KeyObject } from 'node:crypto';
import type { ActorRefFrom, SnapshotFrom } from 'xstate';
import { toBase64Url } from '../../crypto/bytes.js';
import { checkAccept } from '../../crypto/handshake-accept.js';
import {
  chainsFor,
  confirmMac,
  verifyConfirmMac,
  wipeHandshakeKeys,
  type HandshakeKeys,
} from '../../crypto/handshake-key-schedule.js';
import { buildOffer } from '../../crypto/handshake-offer.js';
import { exportRsaTransportKey } from '../../crypto/handshake-keys.js';
import type { Identity } from '../../crypto/identity.js';
import { generateX25519KeyPair, type X25519KeyPair } from '../../crypto/x25519.js';
import { AppError, isAppError } from '../../errors.js';
import {
  handshakeRequesterMachine,
  type HandshakeRequesterEmitted,
} from '../../machines/handshake-requester.machine.js';
import {
  sessionStream,
  type HandshakeFailureReason,
  type HandshakeSuite,
} from '../../machines/handshake.types.js';
import {
  decodeAccept,
  decodeDone,
  decodeProblem,
  type HandshakeConfirm,
} from '../../protocol/handshake.codec.js';
import {
  CONFIRM_PATH,
  OFFER_PATH,
  type EstablishedSession,
  type PinLookup,
  type SpawnActor,
} from './types.js';

export interface PostResult {
  readonly status: number;
  readonly body: unknown;
}

export interface HandshakeRequesterDeps {
  readonly identity: Identity;
  /** RSA-OAEP 3072 transport key pair; required to offer `rsaoaep-aes256gcm`. */
  readonly rsaTransportKey?: { readonly privateKey: KeyObject; readonly publicKey: KeyObject };
  /** POST a JSON body to `url` + `path`. Throw `ERR_TIMEOUT` for a timeout, anything else for unreachable. */
  readonly post: (url: string, path: string, body: unknown) => Promise<PostResult>;
  readonly pins: PinLookup;
  readonly now: () => Date;
  readonly random: (n: number) => Buffer;
  readonly spawnActor: SpawnActor;
  readonly ephemeral?: () => X25519KeyPair;
  readonly freshnessMs?: number;
  /** How long to wait for each answer (default 10 s). */
  readonly timeoutMs?: number;
  /** A `key-changed` refusal, to raise as a security event. */
  readonly onSecurityAlert?: (alert: HandshakeRequesterEmitted) => void;
  /** The offer's sid, before it is posted (the caller keeps other peers' offers off it). */
  readonly onOffer?: (sid: string) => void;
}

export interface HandshakeTarget {
  /** Peer API base URL. */
  readonly url: string;
  /** The peer id we mean to reach, or `null` to accept whoever answers (connect by URL). */
  readonly expectedPeerId: string | null;
  /** In our order of preference. */
  readonly suites: readonly HandshakeSuite[];
}

export type HandshakeOutcome =
  | { readonly ok: true; readonly session: EstablishedSession }
  | {
      readonly ok: false;
      readonly reason: HandshakeFailureReason;
      readonly detail: string;
      /** The responder's problem code, for `rejected`. */
      readonly code?: string;
    };

type RequesterRef = ActorRefFrom<typeof handshakeRequesterMachine>;
type RequesterSnapshot = SnapshotFrom<typeof handshakeRequesterMachine>;
type Exchange =
  { kind: 'answer'; result: PostResult } | { kind: 'error'; error: unknown } | { kind: 'ended' };

/** Resolves when the actor leaves `active` (final state, or stopped). */
function whenEnded(actor: RequesterRef): Promise<Exchange> {
  return new Promise((resolve) => {
    if (actor.getSnapshot().status !== 'active') return resolve({ kind: 'ended' });
    const sub = actor.subscribe({
      next: (snap) => {
        if (snap.status === 'active') return;
        sub.unsubscribe();
        resolve({ kind: 'ended' });
      },
      error: () => resolve({ kind: 'ended' }),
      complete: () => resolve({ kind: 'ended' }),
    });
  });
}

function failureOf(snap: RequesterSnapshot): HandshakeOutcome {
  const { reason, detail, rejection } = snap.context;
  return {
    ok: false,
    reason: reason ?? 'timeout',
    detail: detail ?? reason ?? 'handshake ended',
    ...(rejection?.code ? { code: rejection.code } : {}),
  };
}

/**
 * Run one handshake to `target` as the requester.
 *
 * @example
 * const r = await initiateHandshake(deps, { url: 'http://10.0.0.2:7400', expectedPeerId, suites: ['x25519-aes256gcm'] });
 * if (r.ok) sessions.open(r.session); else log.warn({ reason: r.reason }, 'handshake failed');
 */
export async function initiateHandshake(
  deps: HandshakeRequesterDeps,
  target: HandshakeTarget,
): Promise<HandshakeOutcome> {
  const offersRsa = target.suites.includes('rsaoaep-aes256gcm');
  if (offersRsa && deps.rsaTransportKey === undefined) {
    throw new AppError('ERR_INVALID_ARGUMENT', 'offering rsaoaep-aes256gcm needs a transport key');
  }
  const eph = target.suites.includes('x25519-aes256gcm')
    ? (deps.ephemeral ?? generateX25519KeyPair)()
    : undefined;
  const sentAt = deps.now();
  const offer = buildOffer({
    identity: deps.identity,
    sid: deps.random(16),
    nonce: deps.random(32),
    ts: sentAt.getTime(),
    suites: target.suites,
    to: target.expectedPeerId,
    ...(eph ? { ephPublic: eph.publicKeyRaw } : {}),
    ...(offersRsa && deps.rsaTransportKey
      ? { rsaKey: exportRsaTransportKey(deps.rsaTransportKey.publicKey) }
      : {}),
  });
  deps.onOffer?.(offer.sid);
  const actor = deps.spawnActor(handshakeRequesterMachine, {
    stream: sessionStream(target.expectedPeerId, offer.sid),
    sid: offer.sid,
    selfPeerId: deps.identity.fingerprint,
    expectedPeerId: target.expectedPeerId,
    url: target.url,
    offeredSuites: target.suites,
    ...(deps.freshnessMs === undefined ? {} : { freshnessMs: deps.freshnessMs }),
    ...(deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs }),
  });
  const alerts = actor.on('security.alert', (a) => deps.onSecurityAlert?.(a));
  const ended = whenEnded(actor);
  const at = (): string => deps.now().toISOString();

  /** Post, racing the machine's own timeout; a late answer is ignored. */
  async function exchange(path: string, body: unknown): Promise<PostResult | undefined> {
    const posted = deps.post(target.url, path, body).then(
      (result): Exchange => ({ kind: 'answer', result }),
      (error: unknown): Exchange => ({ kind: 'error', error }),
    );
    const x = await Promise.race([posted, ended]);
    if (x.kind === 'ended') return undefined;
    if (x.kind === 'error') {
      const isTimeout = isAppError(x.error) && x.error.code === 'ERR_TIMEOUT';
      actor.send({
        type: 'transport.failed',
        reason: isTimeout ? 'timeout' : 'unreachable',
        detail: isAppError(x.error) ? x.error.code : 'network error',
        at: at(),
      });
      return undefined;
    }
    if (x.result.status !== 200) {
      const problem = decodeProblem(x.result.body);
      actor.send({
        type: 'transport.failed',
        reason: 'rejected',
        status: x.result.status,
        ...(problem ? { code: problem.code } : {}),
        detail: problem?.reason ?? `HTTP ${x.result.status}`,
        at: at(),
      });
      return undefined;
    }
    return x.result;
  }

  let keys: HandshakeKeys | undefined;
  try {
    actor.send({ type: 'offer.sent', nonce: offer.nonce, ts: offer.ts, at: sentAt.toISOString() });
    const answer = await exchange(OFFER_PATH, offer);
    if (answer === undefined) return failureOf(actor.getSnapshot());
    const decoded = decodeAccept(answer.body);
    if (!decoded.ok || decoded.value.sid !== offer.sid) {
      const detail = decoded.ok ? 'answers another sid' : decoded.error.detail;
      actor.send({ type: 'response.malformed', message: 'hs.accept', detail, at: at() });
      return failureOf(actor.getSnapshot());
    }
    const accept = decoded.value;
    const check = checkAccept(offer, accept, {
      ...(eph ? { eph } : {}),
      ...(offersRsa && deps.rsaTransportKey
        ? { rsaPrivateKey: deps.rsaTransportKey.privateKey }
        : {}),
    });
    keys = check.keys;
    actor.send({
      type: 'accept.received',
      accept: {
        sid: accept.sid,
        from: accept.from,
        kind: accept.kind,
        suite: accept.suite,
        nonce: accept.nonce,
        ts: accept.ts,
      },
      receivedAt: at(),
      facts: {
        identityMatches: check.identityMatches,
        signatureValid: check.signatureValid,
        authOpened: check.authOpened,
        pin: deps.pins.get(accept.from),
      },
      transcript: { keyId: check.keyId, sas: check.sas },
    });
    if (actor.getSnapshot().value !== 'confirming' || keys === undefined) {
      return failureOf(actor.getSnapshot());
    }
    const confirm: HandshakeConfirm = {
      v: 1,
      type: 'hs.confirm',
      sid: offer.sid,
      mac: toBase64Url(confirmMac(keys, 'i')),
    };
    const doneAnswer = await exchange(CONFIRM_PATH, confirm);
    if (doneAnswer === undefined) return failureOf(actor.getSnapshot());
    const done = decodeDone(doneAnswer.body);
    if (!done.ok || done.value.sid !== offer.sid) {
      const detail = done.ok ? 'answers another sid' : done.error.detail;
      actor.send({ type: 'response.malformed', message: 'hs.done', detail, at: at() });
      return failureOf(actor.getSnapshot());
    }
    const establishedAt = at();
    actor.send({
      type: 'done.received',
      macValid: verifyConfirmMac(keys, 'r', done.value.mac),
      // Read again: the pin may have become `blocked` since the accept was checked.
      pin: deps.pins.get(accept.from),
      at: establishedAt,
    });
    const snap = actor.getSnapshot();
    if (snap.value !== 'established') return failureOf(snap);
    const session: EstablishedSession = {
      sid: offer.sid,
      peerId: accept.from,
      peerKind: accept.kind,
      keyId: keys.keyId,
      sas: keys.sas,
      suite: accept.suite,
      role: 'requester',
      establishedAt,
      chains: chainsFor('requester', keys.chains),
    };
    keys.kConfirm.fill(0);
    keys = undefined; // handed out: the session owns the chain keys now
    return { ok: true, session };
  } finally {
    wipeHandshakeKeys(keys);
    alerts.unsubscribe();
    if (actor.getSnapshot().status === 'active') actor.stop();
  }
}
