/**
 * src/crypto throughput: our AEAD suites beside minimal raw node:crypto code doing the same work
 * (measured in the same run, target ≥ 0.8× raw), plus informational rows for signatures and the
 * X25519 handshake step.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { createAead } from '../src/crypto/aead.js';
import { hkdfSha256, Labels } from '../src/crypto/hkdf.js';
import { generateIdentity } from '../src/crypto/identity.js';
import { sign, SignatureDomains, verify } from '../src/crypto/signature.js';
import { generateX25519KeyPair, x25519DeriveKey } from '../src/crypto/x25519.js';
import { measureSync, ratioRow, type BenchModule, type Rate } from './lib.js';

const SIZES = [256, 4096] as const;
const MIN_RATIO = 0.8;

/** Raw AES-256-GCM seal+open: counter nonce in a reused buffer, no output assembly at all. */
function rawGcm(key: Buffer, plaintext: Buffer, aad: Buffer): () => void {
  const nonce = Buffer.alloc(12);
  let counter = 0;
  return () => {
    nonce.writeUInt32BE(counter++ >>> 0, 8);
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
    cipher.setAAD(aad);
    const ct = cipher.update(plaintext);
    cipher.final();
    const tag = cipher.getAuthTag();
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    decipher.update(ct);
    decipher.final();
  };
}

/** Raw AES-256-CBC + HMAC-SHA256 encrypt-then-MAC seal+open with a random IV per message. */
function rawCbcHmac(encKey: Buffer, macKey: Buffer, plaintext: Buffer, aad: Buffer): () => void {
  return () => {
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-256-cbc', encKey, iv);
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const mac = createHmac('sha256', macKey).update(aad).update(iv).update(ct).digest();
    const check = createHmac('sha256', macKey).update(aad).update(iv).update(ct).digest();
    if (!timingSafeEqual(check, mac)) throw new Error('mac');
    const decipher = createDecipheriv('aes-256-cbc', encKey, iv);
    Buffer.concat([decipher.update(ct), decipher.final()]);
  };
}

/** Measure baseline and ours twice, interleaved, and keep the better window of each (less drift). */
function pair(baseline: () => void, ours: () => void): { base: Rate; ours: Rate } {
  const b1 = measureSync(baseline);
  const o1 = measureSync(ours);
  const b2 = measureSync(baseline);
  const o2 = measureSync(ours);
  return {
    base: b1.opsPerSec > b2.opsPerSec ? b1 : b2,
    ours: o1.opsPerSec > o2.opsPerSec ? o1 : o2,
  };
}

const bench: BenchModule = {
  title: 'crypto: AEAD suites vs raw node:crypto, signatures, X25519',
  async run(report) {
    const key = randomBytes(32);
    const aad = randomBytes(48);

    for (const size of SIZES) {
      const plaintext = randomBytes(size);
      let gcm = createAead('aes-256-gcm', key);
      const { base, ours } = pair(rawGcm(key, plaintext, aad), () => {
        if (gcm.remaining === 0) gcm = createAead('aes-256-gcm', key);
        gcm.open(gcm.seal(plaintext, aad), aad);
      });
      report(
        ratioRow(
          'crypto/aead',
          `aes-256-gcm seal+open ${size} B`,
          ours,
          { name: 'raw node:crypto aes-256-gcm', rate: base },
          {
            minRatio: MIN_RATIO,
          },
        ),
      );
    }

    const encKey = hkdfSha256(key, Buffer.alloc(0), Labels.cbcHmacEnc, 32);
    const macKey = hkdfSha256(key, Buffer.alloc(0), Labels.cbcHmacMac, 32);
    for (const size of SIZES) {
      const plaintext = randomBytes(size);
      let cbc = createAead('aes-256-cbc-hmac-sha256', key);
      const { base, ours } = pair(rawCbcHmac(encKey, macKey, plaintext, aad), () => {
        if (cbc.remaining === 0) cbc = createAead('aes-256-cbc-hmac-sha256', key);
        cbc.open(cbc.seal(plaintext, aad), aad);
      });
      report(
        ratioRow(
          'crypto/aead',
          `aes-256-cbc-hmac-sha256 seal+open ${size} B`,
          ours,
          { name: 'raw node:crypto cbc + hmac', rate: base },
          { minRatio: MIN_RATIO },
        ),
      );
    }

    const me = await generateIdentity('ed25519');
    const fields = [me.fingerprint, randomBytes(32), Date.now()] as const;
    const sig = sign(me.privateKey, SignatureDomains.handshakeRequest, fields);
    const info = { note: 'informational' };
    report(
      ratioRow(
        'crypto/asym',
        'ed25519 sign (3 fields)',
        measureSync(() => sign(me.privateKey, SignatureDomains.handshakeRequest, fields)),
        undefined,
        info,
      ),
    );
    report(
      ratioRow(
        'crypto/asym',
        'ed25519 verify (3 fields)',
        measureSync(() => verify(me.publicKey, SignatureDomains.handshakeRequest, fields, sig)),
        undefined,
        info,
      ),
    );

    const peer = generateX25519KeyPair();
    const salt = randomBytes(32);
    report(
      ratioRow(
        'crypto/asym',
        'x25519 ephemeral + import peer (JWK) + derive + HKDF',
        measureSync(() => {
          const eph = generateX25519KeyPair();
          x25519DeriveKey(eph.privateKey, peer.publicKeyRaw, { salt, info: Labels.handshake });
        }),
        undefined,
        info,
      ),
    );
  },
};

export default bench;
