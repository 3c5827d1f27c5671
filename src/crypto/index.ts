/**
 * The public surface of `src/crypto`: stateless primitives over `node:crypto` only. Internal
 * `_raw*` exports (no policy, for the Wycheproof vectors) are deliberately not re-exported here.
 *
 * @example
 * import { createAead, encodeFields, generateIdentity, sign, verify } from '../crypto/index.js';
 */
export {
  constantTimeEqual,
  encodeFields,
  ENCODING_MAGIC,
  fromBase64Url,
  toBase64Url,
  wipe,
  type Field,
} from './bytes.js';
export { hmacSha256, hmacSha256Verify, sha256, SHA256_LENGTH } from './hash.js';
export {
  HKDF_MAX_INFO_LENGTH,
  HKDF_SHA256_MAX_LENGTH,
  hkdfSha256,
  Labels,
  type Label,
} from './hkdf.js';
export {
  createEphemeralSource,
  generateX25519KeyPair,
  importX25519PrivateKey,
  importX25519PublicKey,
  x25519DeriveKey,
  X25519_KEY_LENGTH,
  x25519PublicKeyRaw,
  x25519SharedSecret,
  type DeriveKeyParams,
  type EphemeralSource,
  type X25519KeyPair,
} from './x25519.js';
export {
  AEAD_KEY_LENGTH,
  AEAD_SUITES,
  DEFAULT_MAX_MESSAGES,
  isAeadSuite,
  type Aead,
  type AeadOptions,
  type AeadSuite,
} from './aead-types.js';
export {
  createAead,
  createGcmSealer,
  GCM_NONCE_LENGTH,
  GCM_SEALED_OVERHEAD,
  GCM_SEALED_VERSION,
  GCM_TAG_LENGTH,
  gcmOpen,
  gcmSeal,
} from './aead.js';
export { CBC_HMAC_SEALED_VERSION, createCbcHmacAead } from './cbc-hmac.js';
export {
  isAllowedKey,
  keyKindOf,
  MIN_RSA_BITS,
  RSA_PSS_SALT_LENGTH,
  sign,
  SignatureDomains,
  verify,
  type IdentityKind,
} from './signature.js';
export {
  DEFAULT_OAEP_LABEL,
  generateRsaOaepKeyPair,
  rsaUnwrapKey,
  rsaWrapKey,
  WRAPPED_KEY_LENGTH,
} from './rsa-oaep.js';
export {
  exportPrivateKey,
  exportPublicKey,
  generateIdentity,
  importPrivateKey,
  importPublicKey,
  type Identity,
  type PeerPublicKey,
} from './identity.js';
export {
  fingerprintOf,
  formatFingerprint,
  isFingerprint,
  parseFingerprint,
  shortPeerId,
} from './fingerprint.js';
export { computeSas, SAS_ENTROPY_BITS, SAS_GROUP_DIGITS, SAS_GROUPS } from './sas.js';
export { fillRandom, pooledRandomBytes } from './random.js';
