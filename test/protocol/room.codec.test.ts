import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { generateIdentity } from '../../src/crypto/identity.js';
import { createMessageCipher, signMessage, type MessageHeader } from '../../src/crypto/room.js';
import { generateRoomKey } from '../../src/crypto/room-epoch-key.js';
import {
  AdminRequestSchema,
  decodeInvite,
  decodeWith,
  encodeInvite,
  EnvelopeSchema,
  FetchRequestSchema,
  JoinRequestSchema,
  MemberWireSchema,
  RoomPushSchema,
  SequencedSchema,
  type Envelope,
  type Invite,
} from '../../src/protocol/room.codec.js';

const ROOM = 'room_0123456789abcdef';
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

const reasonOf = (r: { ok: boolean; error?: { reason: string } }): string =>
  r.ok ? 'ok' : (r.error?.reason ?? '?');

const neverThrows = (fn: () => unknown): boolean => {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
};

/** A real envelope: sealed by a member's cipher and signed by its Ed25519 identity. */
const me = await generateIdentity('ed25519');
const header: MessageHeader = {
  roomId: ROOM,
  epoch: 2,
  sender: me.fingerprint,
  id: 'msg_0000000001',
  sentAt: '2030-01-01T00:00:00.000Z',
  suite: 'aes-256-gcm',
};
const ct = createMessageCipher(generateRoomKey(), ROOM, 2, me.fingerprint, 'aes-256-gcm').seal(
  header,
  Buffer.from('{"text":"hello"}'),
);
const envelope: Envelope = {
  ...header,
  ct: ct.toString('base64url'),
  sig: signMessage(me.privateKey, header, ct).toString('base64url'),
};
const member = {
  peerId: me.fingerprint,
  name: 'alice',
  role: 'member' as const,
  kind: 'ed25519' as const,
  publicKey: me.publicKeyBytes.toString('base64url'),
};

const anInvite = (overrides: Partial<Invite> = {}): Invite => ({
  roomId: ROOM,
  roomName: 'ops room',
  host: A,
  urls: ['http://192.168.1.20:7000', 'http://[fe80::1]:7000'],
  token: 'c2VjcmV0LXRva2VuLTEyMzQ1Ng',
  expiresAt: '2030-01-02T00:00:00.000Z',
  ...overrides,
});

/** `cv1.` + base64url of an arbitrary JSON body, as a crafted invite code. */
const craft = (body: unknown): string =>
  `cv1.${Buffer.from(JSON.stringify(body), 'utf8').toString('base64url')}`;
const rawInvite = {
  v: 1,
  r: ROOM,
  n: 'ops room',
  h: A,
  u: ['http://192.168.1.20:7000'],
  t: 'c2VjcmV0LXRva2VuLTEyMzQ1Ng',
  e: '2030-01-02T00:00:00.000Z',
};

describe('invite codes', () => {
  it('round-trips through encodeInvite and decodeInvite', () => {
    const i = anInvite();
    const code = encodeInvite(i);
    expect(code).toMatch(/^cv1\.[A-Za-z0-9_-]+$/);
    expect(decodeInvite(code)).toEqual({ ok: true, value: i });
  });

  it('accepts a code with surrounding whitespace (as pasted)', () => {
    const code = encodeInvite(anInvite());
    expect(decodeInvite(`  ${code}\n`).ok).toBe(true);
  });

  it('decodes a crafted code with the same fields', () => {
    expect(decodeInvite(craft(rawInvite)).ok).toBe(true);
  });

  const bad: Record<string, [string, string]> = {
    empty: ['', 'invalid'],
    'no prefix': [encodeInvite(anInvite()).slice(4), 'invalid'],
    'wrong prefix': [`cv2.${encodeInvite(anInvite()).slice(4)}`, 'invalid'],
    'upper-case prefix': [`CV1.${encodeInvite(anInvite()).slice(4)}`, 'invalid'],
    oversized: [`cv1.${'A'.repeat(2_100)}`, 'invalid'],
    'truncated (damaged)': [encodeInvite(anInvite()).slice(0, 40), 'malformed'],
    'not JSON': [`cv1.${Buffer.from('not json').toString('base64url')}`, 'malformed'],
    'only the prefix': ['cv1.', 'malformed'],
    'JSON null': [craft(null), 'invalid'],
    'JSON array': [craft([rawInvite]), 'invalid'],
    'version 2': [craft({ ...rawInvite, v: 2 }), 'invalid'],
    'extra field': [craft({ ...rawInvite, x: 1 }), 'invalid'],
    'upper-case host id': [craft({ ...rawInvite, h: A.toUpperCase() }), 'invalid'],
    'short host id': [craft({ ...rawInvite, h: 'a'.repeat(63) }), 'invalid'],
    'short token': [craft({ ...rawInvite, t: 'abc' }), 'invalid'],
    'token with padding': [craft({ ...rawInvite, t: 'c2VjcmV0LXRva2VuLTEyMzQ1Ng==' }), 'invalid'],
    'too many urls': [craft({ ...rawInvite, u: Array(5).fill('http://10.0.0.1:1') }), 'invalid'],
    'not a url': [craft({ ...rawInvite, u: ['not a url'] }), 'invalid'],
    'bad room id': [craft({ ...rawInvite, r: 'short' }), 'invalid'],
    'expiry as a number': [craft({ ...rawInvite, e: 1_900_000_000_000 }), 'invalid'],
  };

  for (const [name, [code, reason]] of Object.entries(bad)) {
    it(`refuses a code that is ${name} (${reason})`, () => {
      expect(reasonOf(decodeInvite(code))).toBe(reason);
    });
  }

  it('never throws on arbitrary strings, or on cv1. followed by anything', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 3_000 }), (s) => {
        expect(neverThrows(() => decodeInvite(s))).toBe(true);
        expect(neverThrows(() => decodeInvite(`cv1.${s}`))).toBe(true);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = decodeInvite(craft(v));
        expect(r.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a round trip for any valid invite', () => {
    const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
    const arb = fc.record({
      roomId: fc.stringMatching(/^[A-Za-z0-9_-]{16,64}$/),
      roomName: fc.string({ minLength: 1, maxLength: 64 }),
      host: hex,
      urls: fc.array(fc.constantFrom('http://10.0.0.1:7000', 'https://h.local:1/'), {
        maxLength: 4,
      }),
      token: fc.stringMatching(/^[A-Za-z0-9_-]{16,64}$/),
      expiresAt: fc.constantFrom('2030-01-02T00:00:00.000Z', '2031-06-30T12:34:56Z'),
    });
    fc.assert(
      fc.property(arb, (i) => {
        expect(decodeInvite(encodeInvite(i))).toEqual({ ok: true, value: i });
      }),
      { numRuns: 200 },
    );
  });
});

describe('room wire schemas', () => {
  it('accepts a real envelope, sequenced message and push', () => {
    expect(decodeWith(EnvelopeSchema, envelope)).toEqual({ ok: true, value: envelope });
    expect(decodeWith(SequencedSchema, { seq: 1, env: envelope }).ok).toBe(true);
    expect(decodeWith(RoomPushSchema, { type: 'room.send', env: envelope }).ok).toBe(true);
    expect(
      decodeWith(RoomPushSchema, {
        type: 'room.msgs',
        roomId: ROOM,
        msgs: [{ seq: 4, env: envelope }],
      }).ok,
    ).toBe(true);
    expect(decodeWith(MemberWireSchema, member).ok).toBe(true);
  });

  const envelopeCases: Record<string, [unknown, 'ok' | 'invalid']> = {
    'an extra field': [{ ...envelope, extra: 1 }, 'invalid'],
    'a missing sig': [(({ sig: _s, ...rest }) => rest)(envelope), 'invalid'],
    'ct at the limit (16 384)': [{ ...envelope, ct: 'A'.repeat(16_384) }, 'ok'],
    'oversized ct': [{ ...envelope, ct: 'A'.repeat(16_385) }, 'invalid'],
    'a short ct': [{ ...envelope, ct: 'A'.repeat(39) }, 'invalid'],
    'ct in standard base64': [{ ...envelope, ct: `${envelope.ct.slice(0, -2)}+/` }, 'invalid'],
    'ct with padding': [{ ...envelope, ct: `${envelope.ct}==` }, 'invalid'],
    'oversized sig': [{ ...envelope, sig: 'A'.repeat(701) }, 'invalid'],
    'a short sig': [{ ...envelope, sig: 'A'.repeat(79) }, 'invalid'],
    'an upper-case sender id': [{ ...envelope, sender: envelope.sender.toUpperCase() }, 'invalid'],
    'a 63-digit sender id': [{ ...envelope, sender: 'a'.repeat(63) }, 'invalid'],
    'a non-hex sender id': [{ ...envelope, sender: 'g'.repeat(64) }, 'invalid'],
    'a short room id': [{ ...envelope, roomId: 'room' }, 'invalid'],
    'a room id with a dot': [{ ...envelope, roomId: 'room.0123456789abcdef' }, 'invalid'],
    'an id with a slash': [{ ...envelope, id: 'msg/000000001' }, 'invalid'],
    'the epoch as a string': [{ ...envelope, epoch: '2' }, 'invalid'],
    'a fractional epoch': [{ ...envelope, epoch: 2.5 }, 'invalid'],
    'a negative epoch': [{ ...envelope, epoch: -1 }, 'invalid'],
    'an epoch past u32': [{ ...envelope, epoch: 2 ** 32 }, 'invalid'],
    'an upper-case suite': [{ ...envelope, suite: 'AES-256-GCM' }, 'invalid'],
    'an unknown suite': [{ ...envelope, suite: 'aes-128-gcm' }, 'invalid'],
    'sentAt as a number': [{ ...envelope, sentAt: 1_900_000_000_000 }, 'invalid'],
    'an oversized sentAt': [{ ...envelope, sentAt: 'x'.repeat(41) }, 'invalid'],
    null: [null, 'invalid'],
    'an array': [[envelope], 'invalid'],
  };

  for (const [name, [value, want]] of Object.entries(envelopeCases)) {
    it(`${want === 'ok' ? 'accepts' : 'refuses'} an envelope with ${name}`, () => {
      expect(reasonOf(decodeWith(EnvelopeSchema, value))).toBe(want);
    });
  }

  const otherCases: Array<[string, z.ZodType<unknown>, unknown]> = [
    ['sequenced with seq 0', SequencedSchema, { seq: 0, env: envelope }],
    ['sequenced with seq as a string', SequencedSchema, { seq: '1', env: envelope }],
    ['sequenced with an extra field', SequencedSchema, { seq: 1, env: envelope, at: 1 }],
    ['push of an unknown type', RoomPushSchema, { type: 'room.unknown', roomId: ROOM }],
    ['push with a capitalized type', RoomPushSchema, { type: 'Room.send', env: envelope }],
    ['push with an extra field', RoomPushSchema, { type: 'room.send', env: envelope, x: 1 }],
    ['push without a type', RoomPushSchema, { env: envelope }],
    [
      'push removed for a reason not in the list',
      RoomPushSchema,
      { type: 'room.removed', roomId: ROOM, reason: 'left' },
    ],
    [
      'push of an oversized wrapped key',
      RoomPushSchema,
      { type: 'room.key', roomId: ROOM, epoch: 1, wrapped: 'A'.repeat(201) },
    ],
    [
      'push of an empty message batch',
      RoomPushSchema,
      { type: 'room.msgs', roomId: ROOM, msgs: [] },
    ],
    ['member with a capitalized role', MemberWireSchema, { ...member, role: 'Owner' }],
    ['member of kind rsa-pss', MemberWireSchema, { ...member, kind: 'rsa-pss' }],
    ['member with an upper-case peer id', MemberWireSchema, { ...member, peerId: B.toUpperCase() }],
    ['member with an empty name', MemberWireSchema, { ...member, name: '' }],
    [
      'admin kick with ban as a string',
      AdminRequestSchema,
      { roomId: ROOM, op: 'kick', peerId: B, ban: 'true' },
    ],
    [
      'admin role change to owner',
      AdminRequestSchema,
      { roomId: ROOM, op: 'role', peerId: B, role: 'owner' },
    ],
    ['admin request with an unknown op', AdminRequestSchema, { roomId: ROOM, op: 'delete' }],
    [
      'join with an oversized password',
      JoinRequestSchema,
      {
        roomId: ROOM,
        name: 'b',
        kind: 'ed25519',
        publicKey: member.publicKey,
        password: 'p'.repeat(257),
      },
    ],
    [
      'join with an extra field',
      JoinRequestSchema,
      { roomId: ROOM, name: 'b', kind: 'ed25519', publicKey: member.publicKey, role: 'owner' },
    ],
    ['fetch with a limit over 500', FetchRequestSchema, { roomId: ROOM, after: 0, limit: 501 }],
    ['fetch with a negative cursor', FetchRequestSchema, { roomId: ROOM, after: -1, limit: 10 }],
  ];

  for (const [name, schema, value] of otherCases) {
    it(`refuses a ${name}`, () => {
      expect(reasonOf(decodeWith(schema, value))).toBe('invalid');
    });
  }

  it('accepts the valid neighbours of those cases', () => {
    expect(
      decodeWith(AdminRequestSchema, { roomId: ROOM, op: 'kick', peerId: B, ban: true }).ok,
    ).toBe(true);
    expect(
      decodeWith(AdminRequestSchema, { roomId: ROOM, op: 'role', peerId: B, role: 'admin' }).ok,
    ).toBe(true);
    expect(
      decodeWith(JoinRequestSchema, {
        roomId: ROOM,
        name: 'b',
        kind: 'ed25519',
        publicKey: member.publicKey,
        password: 'p'.repeat(256),
      }).ok,
    ).toBe(true);
    expect(decodeWith(FetchRequestSchema, { roomId: ROOM, after: 0, limit: 500 }).ok).toBe(true);
  });

  it('returns a Result, never throws, for a value whose getters throw', () => {
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new Error('boom');
        },
        ownKeys: () => {
          throw new Error('boom');
        },
      },
    );
    const r = decodeWith(EnvelopeSchema, hostile);
    expect(r.ok).toBe(false);
  });
});

describe('decodeWith fuzzing', () => {
  const schemas: Array<[string, z.ZodType<unknown>]> = [
    ['envelope', EnvelopeSchema],
    ['sequenced', SequencedSchema],
    ['push', RoomPushSchema],
    ['member', MemberWireSchema],
    ['admin', AdminRequestSchema],
    ['join', JoinRequestSchema],
    ['fetch', FetchRequestSchema],
  ];

  it('never throws on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        for (const [name, schema] of schemas) {
          expect(
            neverThrows(() => decodeWith(schema, v)),
            name,
          ).toBe(true);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('never throws on arbitrary values (non-JSON too)', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withMap: true, withSet: true, withDate: true }),
        (v) => {
          for (const [name, schema] of schemas) {
            expect(
              neverThrows(() => decodeWith(schema, v)),
              name,
            ).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never throws on a valid push with one field replaced by arbitrary JSON, and keeps strictness', () => {
    const push = { type: 'room.send', env: envelope } as const;
    const keys = Object.keys(envelope) as Array<keyof Envelope>;
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 3 }), (key, value) => {
        const mutated = { ...push, env: { ...envelope, [key]: value } };
        const r = decodeWith(RoomPushSchema, JSON.parse(JSON.stringify(mutated)) as unknown);
        if (r.ok) {
          // Anything accepted is still a well-formed envelope.
          expect(decodeWith(EnvelopeSchema, (r.value as typeof push).env).ok).toBe(true);
        } else {
          expect(r.error.reason).toBe('invalid');
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
