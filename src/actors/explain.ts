/**
 * Plain-language explanations of why a handshake, session or rotation stopped, keyed by the typed
 * failure reason a machine records. Used by `conclave log replay` after the timeline.
 */
const WHAT_TO_DO: Readonly<Record<string, { check: string; todo: string }>> = {
  'bad-signature': {
    check:
      'the signature over the handshake transcript did not verify with the key the peer presented',
    todo: 'something between the peers altered the handshake (a proxy or an attacker), or the peer runs incompatible software; do not trust this path, compare fingerprints out of band',
  },
  stale: {
    check: "the handshake's timestamp was outside the freshness window (60 s)",
    todo: "check both machines' clocks (NTP); a replayed old handshake also looks like this",
  },
  replayed: {
    check: 'the handshake nonce had been seen before',
    todo: 'someone re-sent a captured handshake; no session was created — nothing to do unless it repeats, then find the sender',
  },
  'unknown-suite': {
    check: 'none of the offered cipher suites is accepted by the responder',
    todo: 'upgrade the older peer, or enable a common suite (RSA peers need the rsaoaep suite on both sides)',
  },
  downgraded: {
    check: 'the responder chose a suite the requester never offered',
    todo: 'treat as an attack on the handshake (suite rewrite); do not connect over this path',
  },
  'key-changed': {
    check: 'the peer answered with a different identity than the peer id we expected',
    todo: 'someone else now answers at that address, or the peer reinstalled with a new key; verify the new fingerprint out of band before trusting it',
  },
  'identity-mismatch': {
    check: 'the presented public key does not hash to the claimed peer id',
    todo: 'a spoofing attempt or a broken peer; block it if it repeats',
  },
  'wrong-peer': {
    check: 'the offer was addressed to a different peer id than ours',
    todo: 'the requester had a stale address for the peer it wanted; re-discover (conclave peers)',
  },
  blocked: {
    check: 'the peer is blocked in our trust pins',
    todo: 'unblock it with "conclave unverify PEER" if that was a mistake',
  },
  'decrypt-failed': {
    check:
      'the sealed session key from the responder did not decrypt under the derived handshake key',
    todo: 'the two sides derived different keys — an attacker changed an ephemeral key, or incompatible versions',
  },
  'bad-confirm': {
    check: 'the key confirmation MAC did not verify',
    todo: 'the other side does not hold the keys this handshake derived (a replayed offer or a man in the middle)',
  },
  timeout: {
    check: 'the other side did not answer in time',
    todo: 'check the peer is running and reachable (conclave peers; GET /api/diagnostics/discovery), and firewalls',
  },
  unreachable: {
    check: 'no connection could be made to the peer',
    todo: 'check the address and port, that the peer is running, and that nothing blocks TCP to it',
  },
  rejected: {
    check: 'the responder refused the handshake with an error code',
    todo: "see the code in the step facts; the responder's own log (conclave log --stream session:…) says why",
  },
  malformed: {
    check: 'a handshake message did not parse',
    todo: 'the peers run incompatible versions, or something corrupted the traffic',
  },
};

export interface Explanation {
  readonly lastGoodStep: string | null;
  readonly reason: string;
  /** For `rejected`: the reason the other side gave for refusing, when it gave a known one. */
  readonly peerReason?: string;
  readonly text: string;
}

/** Why the *requester* sees a responder's refusal this way: the view from the other side. */
const SEEN_FROM_REQUESTER: Readonly<Record<string, { check: string; todo: string }>> = {
  'wrong-peer': {
    check:
      'the peer at that address is not the peer id we expected, so it refused an offer addressed to someone else',
    todo: 'the peer reinstalled with a new key, or another peer took its address; find out which (conclave peers), and verify the new fingerprint out of band before trusting it',
  },
};

/** The machine-readable reason codes this file can explain. */
export function explainedReasons(): readonly string[] {
  return Object.keys(WHAT_TO_DO);
}

function peerReasonOf(reason: string, finalContext: unknown): string | undefined {
  if (reason !== 'rejected') return undefined;
  const detail = (finalContext as { detail?: unknown } | null)?.detail;
  return typeof detail === 'string' && (detail in WHAT_TO_DO || detail in SEEN_FROM_REQUESTER)
    ? detail
    : undefined;
}

/**
 * One paragraph for a failed run, or null when the final context records no failure reason.
 *
 * @example
 * explainFailure('handshake-requester', { reason: 'stale' }, 'offer.sent at #3')?.text;
 */
export function explainFailure(
  machine: string | null,
  finalContext: unknown,
  lastGoodStep: string | null,
  end: RunEnd = {},
): Explanation | null {
  // A rotation's `reason` is what started it (manual, kick, policy…), not a failure.
  if (machine === 'rotation') return explainRotation(finalContext, lastGoodStep, end);
  const reason = (finalContext as { reason?: unknown } | null)?.reason;
  if (typeof reason !== 'string' || reason.length === 0) return null;
  const known = WHAT_TO_DO[reason];
  const after = lastGoodStep ? `After the last good step (${lastGoodStep}), ` : '';
  const actor = machine ?? 'actor';
  const peerReason = peerReasonOf(reason, finalContext);
  const theirs =
    peerReason === undefined
      ? undefined
      : (SEEN_FROM_REQUESTER[peerReason] ?? WHAT_TO_DO[peerReason]);
  let text: string;
  if (peerReason !== undefined && theirs !== undefined) {
    text = `${after}the ${actor} failed because the other side refused the handshake (reason ${reason}, theirs ${peerReason}): ${theirs.check}. What to do: ${theirs.todo}.`;
  } else if (known) {
    text = `${after}the ${actor} failed because ${known.check} (reason ${reason}). What to do: ${known.todo}.`;
  } else {
    text = `${after}the ${actor} failed with reason ${reason}.`;
  }
  return { lastGoodStep, reason, ...(peerReason !== undefined ? { peerReason } : {}), text };
}

/** How a replayed run ended, beyond its context: its final state and why it was cancelled. */
export interface RunEnd {
  readonly state?: unknown;
  /** The `reason` of the `rotation.cancel` that ended a rotation. */
  readonly cancelReason?: string;
}

/** Why a rotation was cancelled (`rotation.cancel {reason}`), and what to do about it. */
const CANCELLED: Readonly<Record<string, string>> = {
  'room-deleted':
    'its room was deleted (the host shredded the room’s keys with it). What to do: nothing — no key or commit went out after that',
  'key-lost':
    'the host no longer held its key after a restart (the keystore write had failed, e.g. a full disk or a read-only data directory), so the room rotated again past this epoch. What to do: check the data directory’s free space and permissions; members are on the next epoch',
};

interface RotationFacts {
  readonly epoch?: number;
  readonly reason?: string;
  readonly pending?: readonly string[];
  readonly laggards?: readonly string[];
  readonly committedAt?: string | null;
}

const short = (ids: readonly string[]): string =>
  ids
    .slice(0, 5)
    .map((id) => id.slice(0, 12))
    .join(', ') + (ids.length > 5 ? ` and ${ids.length - 5} more` : '');

/**
 * A rotation "fails" when it committed at its deadline without some members (laggards), or when
 * the log ends while it still waits for acks. Null when every member acked.
 */
function explainRotation(
  finalContext: unknown,
  lastGoodStep: string | null,
  end: RunEnd,
): Explanation | null {
  const c = (finalContext ?? {}) as RotationFacts;
  const after = lastGoodStep ? `After the last good step (${lastGoodStep}), ` : '';
  const what = `the rotation to epoch ${c.epoch ?? '?'} (started by ${c.reason ?? '?'})`;
  if (end.state === 'cancelled') {
    const why = end.cancelReason ?? 'unknown';
    const because = CANCELLED[why] ?? `it was cancelled (${why})`;
    return {
      lastGoodStep,
      reason: 'cancelled',
      text: `${after}${what} was cancelled: ${because}.`,
    };
  }
  const laggards = c.laggards ?? [];
  const pending = c.pending ?? [];
  if (laggards.length > 0) {
    return {
      lastGoodStep,
      reason: 'laggards',
      text: `${after}${what} committed at its deadline without ${laggards.length} member(s) that had not acknowledged the new key (${short(laggards)}). What to do: nothing urgent — a laggard gets the key in its next fetch when it reconnects; if one never comes back, remove it (conclave room kick), and check it is running, reachable and, under --trust strict, verified.`,
    };
  }
  if (!c.committedAt && pending.length > 0) {
    return {
      lastGoodStep,
      reason: 'incomplete',
      text: `${after}${what} was still waiting for ${pending.length} member(s) to acknowledge the new key (${short(pending)}) when the log ends. What to do: if the host stopped, it resumes the rotation from the log when it starts again; otherwise wait for the deadline or check those members are online.`,
    };
  }
  return null;
}
