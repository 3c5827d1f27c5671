/**
 * `<data-dir>/pins.json`: the trust pins, kept beside the keystore so trust survives a restart
 * whatever the event store (the `trust` stream in the log records every change as well).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { Pin } from '../machines/trust.machine.js';
import { writePrivateFile } from './data-dir.js';

const PinSchema = z.strictObject({
  peerId: z.string().regex(/^[0-9a-f]{64}$/),
  state: z.enum(['unverified', 'verified', 'blocked']),
  kind: z.enum(['ed25519', 'rsa']).nullable(),
  name: z.string().max(64).nullable(),
  firstSeenAt: z.string().max(40),
  changedAt: z.string().max(40),
});
const PinsFile = z.strictObject({ v: z.literal(1), pins: z.record(z.string(), PinSchema) });

export async function loadPins(dataDir: string): Promise<Record<string, Pin>> {
  const path = join(dataDir, 'pins.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const r = PinsFile.safeParse(parsed);
  if (!r.success) {
    throw new AppError(
      'ERR_INVALID_CONFIG',
      `${path} is damaged; move it aside to start with no pins (you will have to verify peers again)`,
    );
  }
  return r.data.pins;
}

/** Saves pins, coalescing bursts; `flush()` waits for the last write. */
export function createPinsWriter(dataDir: string, onError: (err: unknown) => void) {
  let latest: Readonly<Record<string, Pin>> | undefined;
  let writing: Promise<void> = Promise.resolve();
  return {
    save(pins: Readonly<Record<string, Pin>>): void {
      const isIdle = latest === undefined;
      latest = pins;
      if (!isIdle) return;
      writing = writing.then(async () => {
        const pinsNow = latest;
        latest = undefined;
        if (pinsNow === undefined) return;
        await writePrivateFile(
          join(dataDir, 'pins.json'),
          `${JSON.stringify({ v: 1, pins: pinsNow }, null, 2)}\n`,
        ).catch(onError);
      });
    },
    flush(): Promise<void> {
      return writing;
    },
  };
}
