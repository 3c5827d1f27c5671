/**
 * Strips secrets from anything that leaves an actor for the log, the inspector or an export.
 * Machines are built so that secrets never enter their events or context (they hold key ids and
 * fingerprints); this is the second wall, not the first.
 *
 * Rules: fields named like a secret are replaced by `"[redacted]"`; raw bytes (Buffer, typed
 * arrays, ArrayBuffer) and KeyObjects never pass, whatever their name; actor refs become
 * `{ $actor: id }`; functions and symbols are dropped; depth and size are bounded.
 */
const SECRET_NAME =
  /(secret|password|passphrase|private|token|credential|seed|ikm|^key$|^(session|room|master|epoch|chain|wrap|mac|enc|aead|shared|group|message)keys?$|keybytes|rawkey)/i;
const PUBLIC_NAME = /^(publicKey|keyId|keyIds|keyFingerprint|fingerprint|peerId)$/;

export const REDACTED = '[redacted]';
const MAX_DEPTH = 12;
/** Room member lists travel in events whole (room capacity is at most 5 000). */
const MAX_ARRAY = 5_000;
const MAX_STRING = 64 * 1024;

export function isSecretFieldName(name: string): boolean {
  return !PUBLIC_NAME.test(name) && SECRET_NAME.test(name);
}

function isActorRef(v: object): v is { id: string; send: unknown; getSnapshot: unknown } {
  return (
    'send' in v && 'getSnapshot' in v && 'id' in v && typeof (v as { id: unknown }).id === 'string'
  );
}

function isKeyObject(v: object): boolean {
  const ctor = (v as { constructor?: { name?: string } }).constructor?.name ?? '';
  return /KeyObject$/.test(ctor) || ctor === 'CryptoKey';
}

/** A JSON-compatible copy of `value` with every secret removed. */
export function sanitize(value: unknown, depth = 0): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
      return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…[truncated]` : value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'object':
      break;
  }
  const obj = value;
  if (depth >= MAX_DEPTH) return '[depth limit]';
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) {
    return { $redacted: 'bytes', length: obj.byteLength };
  }
  if (isKeyObject(obj)) return { $redacted: 'key' };
  if (isActorRef(obj)) return { $actor: obj.id };
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
  if (obj instanceof Error) return { error: obj.name, code: (obj as { code?: unknown }).code };
  if (Array.isArray(obj)) {
    return obj.slice(0, MAX_ARRAY).map((v) => {
      const s = sanitize(v, depth + 1);
      return s === undefined ? null : s;
    });
  }
  if (obj instanceof Map) return sanitize(Object.fromEntries(obj), depth);
  if (obj instanceof Set) return sanitize([...obj], depth);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (isSecretFieldName(k)) {
      if (v !== undefined && v !== null) out[k] = REDACTED;
      continue;
    }
    const s = sanitize(v, depth + 1);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

/** `sanitize` for a record-shaped value (event data, context). */
export function sanitizeRecord(value: unknown): Record<string, unknown> {
  const s = sanitize(value);
  return typeof s === 'object' && s !== null && !Array.isArray(s)
    ? (s as Record<string, unknown>)
    : { value: s };
}
