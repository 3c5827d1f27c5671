/**
 * Does a `GET /p2p/v1/hello` answer prove a peer id? Only when the answer is a well-formed hello
 * whose peer id is the fingerprint of its public key, of the kind it claims — and, when a hint
 * claimed an id (an mDNS TXT record, an expected peer), that id is the claimed one.
 */
import { z } from 'zod';
import { importPublicKey, type PeerPublicKey } from '../../crypto/index.js';
import { err, ok, type Result } from '../../protocol/result.js';

const Hello = z.object({
  v: z.literal(1),
  peerId: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string().min(1).max(64),
  identityKind: z.enum(['ed25519', 'rsa']),
  publicKey: z.string().min(40).max(2000),
});

export interface ProvenPeer {
  readonly peerId: string;
  readonly name: string;
  readonly kind: 'ed25519' | 'rsa';
}

export type HelloRejectReason = 'not-a-peer' | 'bad-key' | 'id-mismatch';

export function checkHello(
  body: unknown,
  claimedId: string | null,
): Result<ProvenPeer, HelloRejectReason> {
  const hello = Hello.safeParse(body);
  if (!hello.success) return err('not-a-peer');
  let key: PeerPublicKey;
  try {
    key = importPublicKey(hello.data.publicKey);
  } catch {
    return err('bad-key');
  }
  if (key.fingerprint !== hello.data.peerId) return err('bad-key');
  // The hello is unsigned: the kind it claims is only what the key itself is (else an mDNS hint
  // or a --peer answer could list an ed25519 peer as rsa).
  if (key.kind !== hello.data.identityKind) return err('bad-key');
  if (claimedId !== null && hello.data.peerId !== claimedId) return err('id-mismatch');
  return ok({ peerId: hello.data.peerId, name: hello.data.name, kind: hello.data.identityKind });
}
