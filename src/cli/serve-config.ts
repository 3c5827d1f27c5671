/**
 * `conclave serve` configuration: parsed and validated once, from commander's merged view of
 * flags, `CONCLAVE_*` environment variables and defaults (flags win over env, env over defaults).
 */
import { homedir, hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { AppError } from '../errors.js';

export interface ServeConfig {
  readonly name: string;
  /** Undefined only for a volatile peer started without `--data-dir`. */
  readonly dataDir: string | undefined;
  readonly isVolatile: boolean;
  readonly host: string;
  readonly port: number;
  readonly apiPort: number;
  readonly store: string;
  readonly identity: 'ed25519' | 'rsa';
  readonly peers: readonly string[];
  readonly isDiscoveryOn: boolean;
  readonly multicast: string;
  readonly interface: string | undefined;
  readonly trust: 'tofu' | 'strict';
  /** Open WebSocket push links to peers (off with --no-push: receive by polling). */
  readonly isPushOn: boolean;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly passphrase: string | undefined;
  /** Re-key a session after this many sealed messages (default: the session layer's, 1000). */
  readonly rekeyAfter: number | undefined;
  /** Live inspection (`--inspect`): the inspection feed, `/api/inspect/*` and `/inspect/`. */
  readonly isInspecting: boolean;
  /**
   * Memory store only (`--log-retain`): keep the newest this many bytes (estimated JSON) of
   * events. 0 or undefined: keep every event. Always 0 for the durable stores.
   */
  readonly logRetainBytes?: number;
  /** Messages kept in memory per room (`--room-history`); older ones are in the log only. */
  readonly roomHistory: number;
  /**
   * V8 old-generation growth per major GC, in percent (`--heap-growth`); 0 leaves V8's own
   * heuristic (which lets garbage reach a few times the live heap).
   */
  readonly heapGrowthPercent: number;
}

export const DEFAULTS = {
  port: 7400,
  apiPort: 7401,
  host: '0.0.0.0',
  store: 'memory',
  identity: 'ed25519',
  trust: 'tofu',
  multicast: '239.255.42.99:7402',
  logLevel: 'info',
  /**
   * `--log-retain` (MiB) when the store is `memory`: the newest ~13 k room messages or far more
   * handshake and session events — enough to debug with — while a busy volatile peer (a 50-member
   * room host after 100 k messages) stays under 200 MB, flat (`npm run bench -- rooms`).
   */
  logRetainMiB: 16,
  roomHistory: 10_000,
  /** `--heap-growth` (percent). */
  heapGrowthPercent: 30,
} as const;

/** Largest `--log-retain` (MiB): 64 GiB of events is far more than a peer's heap holds. */
export const MAX_LOG_RETAIN_MIB = 65_536;
const MIB = 1024 * 1024;

export function defaultDataDir(): string {
  return resolve(homedir(), '.conclave');
}

const port = z.coerce
  .number({ error: 'must be a number' })
  .int('must be a whole number')
  .min(0, 'must be 0..65535')
  .max(65535, 'must be 0..65535');

const RawServe = z.object({
  name: z.string().min(1).max(64).optional(),
  dataDir: z.string().min(1).optional(),
  volatile: z.boolean().optional(),
  host: z.string().min(1),
  port,
  apiPort: port,
  store: z.string().min(1),
  identity: z.enum(['ed25519', 'rsa'], { error: 'must be ed25519 or rsa' }),
  peer: z.array(z.string().url('must be a URL like http://10.0.0.5:7400')).optional(),
  discovery: z.boolean().optional(),
  push: z.boolean().optional(),
  multicast: z
    .string()
    .regex(/^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/, 'must be GROUP:PORT, e.g. 239.255.42.99:7402'),
  interface: z.string().min(1).optional(),
  trust: z.enum(['tofu', 'strict'], { error: 'must be tofu or strict' }),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  rekeyAfter: z.coerce.number().int().min(2, 'must be at least 2').max(1_000_000).optional(),
  inspect: z.boolean().optional(),
  // Fractions allowed (e.g. 0.5): small budgets are handy in tests and on tiny devices.
  logRetain: z.coerce
    .number({ error: 'must be a number of MiB' })
    .min(0, 'must be 0 (keep all) or more MiB')
    .max(MAX_LOG_RETAIN_MIB, `must be at most ${MAX_LOG_RETAIN_MIB} MiB`)
    .optional(),
  roomHistory: z.coerce
    .number({ error: 'must be a whole number of messages' })
    .int('must be a whole number of messages')
    .min(100, 'must be at least 100 messages')
    .max(1_000_000, 'must be at most 1 000 000 messages')
    .optional(),
  // An empty value (CONCLAVE_HEAP_GROWTH=) is a mistake, not 0.
  heapGrowth: z
    .preprocess(
      (v) => (v === '' ? Number.NaN : v),
      z.coerce
        .number({ error: 'must be a whole percentage' })
        .int('must be a whole percentage')
        .min(0, 'must be 0 (V8 decides) or more')
        .max(400, 'must be at most 400 %'),
    )
    .optional(),
});

/** Validate commander's options (already merged with env and defaults) into a ServeConfig. */
export function resolveServeConfig(raw: Record<string, unknown>, passphrase?: string): ServeConfig {
  const r = RawServe.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const flag = `--${String(issue?.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new AppError(
      'ERR_INVALID_CONFIG',
      `${flag} ${issue?.message ?? 'is invalid'} (see conclave serve --help)`,
    );
  }
  const o = r.data;
  const isVolatile = o.volatile === true;
  if (isVolatile && o.store !== 'memory') {
    throw new AppError(
      'ERR_INVALID_CONFIG',
      `--volatile keeps everything in memory, but --store is ${o.store.split(':')[0] ?? ''}…; drop one of them`,
    );
  }
  const isMemory = o.store.trim() === 'memory';
  if (o.logRetain !== undefined && !isMemory) {
    throw new AppError(
      'ERR_INVALID_CONFIG',
      `--log-retain applies to the memory store only, but --store is ${o.store.split(':')[0] ?? ''}…; a durable store keeps every event: drop --log-retain`,
    );
  }
  return {
    name: o.name ?? hostname(),
    dataDir:
      o.dataDir !== undefined ? resolve(o.dataDir) : isVolatile ? undefined : defaultDataDir(),
    isVolatile,
    host: o.host,
    port: o.port,
    apiPort: o.apiPort,
    store: o.store,
    identity: o.identity,
    peers: o.peer ?? [],
    isDiscoveryOn: o.discovery !== false,
    isPushOn: o.push !== false,
    multicast: o.multicast,
    interface: o.interface,
    trust: o.trust,
    logLevel: o.logLevel,
    passphrase: passphrase !== undefined && passphrase.length > 0 ? passphrase : undefined,
    rekeyAfter: o.rekeyAfter,
    isInspecting: o.inspect === true,
    logRetainBytes: isMemory ? Math.ceil((o.logRetain ?? DEFAULTS.logRetainMiB) * MIB) : 0,
    roomHistory: o.roomHistory ?? DEFAULTS.roomHistory,
    heapGrowthPercent: o.heapGrowth ?? DEFAULTS.heapGrowthPercent,
  };
}
