/**
 * Handshake wire messages (protocol §2): `hs.offer`, `hs.accept`, `hs.confirm`, `hs.done`, and the
 * exact field lists the signatures and the transcript hash cover.
 *
 * Parsing only: strict objects (unknown keys refused), every binary field canonical unpadded
 * base64url of a bounded (mostly exact) length, and the cross-field rules the spec states
 * (`eph` iff x25519 is offered/chosen, `rsaKey`/`wrapped` iff RSA). Whether keys import, hashes
 * match and signatures verify is decided by `src/crypto/handshake-offer.ts` and `handshake-accept.ts`; policy by the machines.
 */
import { z } from 'zod';
import { err, ok, unsupportedVersion, type Result } from './result.js';

/** Handshake suites (protocol §2), compared as exact strings. */
export type HandshakeSuite = 'x25519-aes256gcm' | 'rsaoaep-aes256gcm';

/** Every suite we implement, in our default order of preference (forward secrecy first). */
export const HANDSHAKE_SUITES: readonly HandshakeSuite[] = [
  'x25519-aes256gcm',
  'rsaoaep-aes256gcm',
];

/**
 * Whether a wire string names a suite we implement.
 *
 * @example
 * offer.suites.filter(isHandshakeSuite);
 */
export function isHandshakeSuite(value: unknown): value is HandshakeSuite {
  return value === 'x25519-aes256gcm' || value === 'rsaoaep-aes256gcm';
}

/** Domain of the transcript hash TH (protocol §2.3). */
export const TRANSCRIPT_DOMAIN = 'conclave/v1 hs-transcript';

/** Byte lengths of the fixed-size fields. */
export const SID_BYTES = 16;
export const NONCE_BYTES = 32;
export const EPH_BYTES = 32;
/** `auth` = AES-256-GCM(sak (32)) ‖ tag (16). */
export const AUTH_BYTES = 48;
export const MAC_BYTES = 32;

const B64URL = /^[A-Za-z0-9_-]*$/;
const PEER_ID = /^[0-9a-f]{64}$/;
/** Suite names we may not know (a newer peer's); they only need to look like names. */
const SUITE_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
const MAX_SUITES = 4;

const b64Length = (bytes: number): number => Math.ceil((bytes * 4) / 3);

/** Last characters whose unused low bits are zero, by `length % 4` (2: 4 bits, 3: 2 bits). */
const LAST_OF_2 = /[AQgw]$/;
const LAST_OF_3 = /[AEIMQUYcgkosw048]$/;

/**
 * Canonical unpadded base64url: the alphabet, a possible length and zero trailing bits, so each
 * byte string has exactly one spelling (checked without decoding: this runs on every field).
 */
function isCanonicalB64(text: string): boolean {
  if (!B64URL.test(text)) return false;
  switch (text.length % 4) {
    case 0:
      return true;
    case 2:
      return LAST_OF_2.test(text);
    case 3:
      return LAST_OF_3.test(text);
    default:
      return false;
  }
}

/** Canonical base64url of between `min` and `max` bytes. */
function b64(min: number, max = min) {
  return z
    .string()
    .min(b64Length(min))
    .max(b64Length(max))
    .refine(isCanonicalB64, 'not canonical base64url');
}

const PeerId = z.string().regex(PEER_ID);
const Ts = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Kind = z.enum(['ed25519', 'rsa']);
/** SPKI DER: Ed25519 is 44 bytes; RSA up to 8192 bits fits in 1200. */
const Spki = b64(40, 1200);
/** Ed25519 (64 bytes) or RSA-PSS 3072..8192 (384..1024 bytes). */
const Signature = b64(64, 1024);
/** RSA-OAEP ciphertext: one modulus, 3072..8192 bits. */
const Wrapped = b64(384, 1024);
const Suite = z.enum(['x25519-aes256gcm', 'rsaoaep-aes256gcm']);

const OfferSchema = z
  .strictObject({
    v: z.literal(1),
    type: z.literal('hs.offer'),
    sid: b64(SID_BYTES),
    from: PeerId,
    kind: Kind,
    publicKey: Spki,
    to: PeerId.nullable(),
    eph: b64(EPH_BYTES).nullable(),
    rsaKey: Spki.nullable(),
    nonce: b64(NONCE_BYTES),
    ts: Ts,
    suites: z.array(z.string().regex(SUITE_NAME)).min(1).max(MAX_SUITES),
    sig: Signature,
  })
  .superRefine((o, ctx) => {
    if (new Set(o.suites).size !== o.suites.length) {
      ctx.addIssue({ code: 'custom', path: ['suites'], message: 'suites repeat' });
    }
    if ((o.eph !== null) !== o.suites.includes('x25519-aes256gcm')) {
      ctx.addIssue({ code: 'custom', path: ['eph'], message: 'eph iff x25519 is offered' });
    }
    if ((o.rsaKey !== null) !== o.suites.includes('rsaoaep-aes256gcm')) {
      ctx.addIssue({ code: 'custom', path: ['rsaKey'], message: 'rsaKey iff rsaoaep is offered' });
    }
  });

const AcceptSchema = z
  .strictObject({
    v: z.literal(1),
    type: z.literal('hs.accept'),
    sid: b64(SID_BYTES),
    from: PeerId,
    kind: Kind,
    publicKey: Spki,
    eph: b64(EPH_BYTES).nullable(),
    wrapped: Wrapped.nullable(),
    nonce: b64(NONCE_BYTES),
    ts: Ts,
    suite: Suite,
    auth: b64(AUTH_BYTES),
    sig: Signature,
  })
  .superRefine((a, ctx) => {
    const isX25519 = a.suite === 'x25519-aes256gcm';
    if ((a.eph !== null) !== isX25519 || (a.wrapped !== null) === isX25519) {
      ctx.addIssue({
        code: 'custom',
        path: ['suite'],
        message: 'eph/wrapped do not fit the suite',
      });
    }
  });

const ConfirmSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('hs.confirm'),
  sid: b64(SID_BYTES),
  mac: b64(MAC_BYTES),
});

const DoneSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('hs.done'),
  sid: b64(SID_BYTES),
  mac: b64(MAC_BYTES),
});

/**
 * A problem document as the peer API answers it; only `code` (and `reason`) matter here. The
 * reason ends up in the user's error message, so only a reason word passes (a reason we do not
 * know yet still does); any other text is dropped, and the code kept.
 */
const ProblemSchema = z.looseObject({
  code: z.string().regex(/^ERR_[A-Z_]{1,40}$/),
  reason: z
    .string()
    .regex(/^[a-z][a-z-]{0,39}$/)
    .optional()
    .catch(undefined),
});

export type HandshakeOffer = z.infer<typeof OfferSchema>;
export type HandshakeAccept = z.infer<typeof AcceptSchema>;
export type HandshakeConfirm = z.infer<typeof ConfirmSchema>;
export type HandshakeDone = z.infer<typeof DoneSchema>;
export type UnsignedOffer = Omit<HandshakeOffer, 'sig'>;
/** The accept fields TH covers: everything but `auth` and `sig`. */
export type AcceptTranscriptPart = Omit<HandshakeAccept, 'auth' | 'sig'>;
export interface HandshakeProblem {
  readonly code: string;
  readonly reason?: string;
}

/**
 * The exact, ordered field list the offer signature covers (protocol §2.1).
 *
 * @example
 * const sig = sign(me.privateKey, SignatureDomains.handshakeRequest, offerFields(unsigned));
 */
export function offerFields(o: UnsignedOffer): Array<string | number> {
  return [
    o.v,
    o.type,
    o.sid,
    o.from,
    o.kind,
    o.publicKey,
    o.to ?? '',
    o.eph ?? '',
    o.rsaKey ?? '',
    o.nonce,
    o.ts,
    JSON.stringify(o.suites),
  ];
}

/**
 * The exact, ordered field list TH hashes (protocol §2.3): the signed offer, then the accept up to
 * and including `suite`. TH = SHA-256(encodeFields(TRANSCRIPT_DOMAIN, these)).
 *
 * @example
 * const th = sha256(encodeFields(TRANSCRIPT_DOMAIN, acceptTranscriptFields(offer, accept)));
 */
export function acceptTranscriptFields(
  offer: HandshakeOffer,
  a: AcceptTranscriptPart,
): Array<string | number> {
  return [
    ...offerFields(offer),
    offer.sig,
    a.v,
    'hs.accept',
    a.sid,
    a.from,
    a.kind,
    a.publicKey,
    a.eph ?? '',
    a.wrapped ?? '',
    a.nonce,
    a.ts,
    a.suite,
  ];
}

function decodeWith<T>(schema: z.ZodType<T>, json: unknown): Result<T> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return err({ reason: 'malformed', detail: 'not a JSON object' });
  }
  if ('v' in json && json.v !== 1) {
    return unsupportedVersion(json.v);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    return err({ reason: 'invalid', detail: `${i?.path.join('.') ?? ''}: ${i?.message ?? ''}` });
  }
  return ok(r.data);
}

/**
 * Parse an `hs.offer` body (already JSON-parsed). Never throws.
 *
 * @example
 * const r = decodeOffer(req.body);
 * if (!r.ok) return badRequest(r.error.detail);
 */
export function decodeOffer(json: unknown): Result<HandshakeOffer> {
  return decodeWith(OfferSchema, json);
}

/**
 * Parse an `hs.accept` body. Never throws.
 *
 * @example
 * const r = decodeAccept(response.body);
 */
export function decodeAccept(json: unknown): Result<HandshakeAccept> {
  return decodeWith(AcceptSchema, json);
}

/**
 * Parse an `hs.confirm` body. Never throws.
 *
 * @example
 * const r = decodeConfirm(req.body);
 */
export function decodeConfirm(json: unknown): Result<HandshakeConfirm> {
  return decodeWith(ConfirmSchema, json);
}

/**
 * Parse an `hs.done` body. Never throws.
 *
 * @example
 * const r = decodeDone(response.body);
 */
export function decodeDone(json: unknown): Result<HandshakeDone> {
  return decodeWith(DoneSchema, json);
}

/**
 * Read the code (and handshake reason) of a problem document a peer answered with, or `undefined`.
 *
 * @example
 * decodeProblem({ code: 'ERR_HANDSHAKE_FAILED', reason: 'stale', status: 422 });
 */
export function decodeProblem(json: unknown): HandshakeProblem | undefined {
  const r = ProblemSchema.safeParse(json);
  if (!r.success) return undefined;
  return r.data.reason === undefined
    ? { code: r.data.code }
    : { code: r.data.code, reason: r.data.reason };
}
