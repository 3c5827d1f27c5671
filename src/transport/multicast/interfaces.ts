/**
 * Which interfaces discovery uses: every up, IPv4 interface with an address (loopback included, so
 * peers on one machine find each other), or the one the user named with `--interface`.
 */
import { networkInterfaces } from 'node:os';
import { AppError } from '../../errors.js';

export interface DiscoveryInterface {
  readonly name: string;
  readonly address: string;
  readonly isLoopback: boolean;
}

export function listIpv4Interfaces(
  only?: string,
  source: ReturnType<typeof networkInterfaces> = networkInterfaces(),
): DiscoveryInterface[] {
  const out: DiscoveryInterface[] = [];
  for (const [name, addrs] of Object.entries(source)) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue;
      out.push({ name, address: a.address, isLoopback: a.internal });
    }
  }
  if (only === undefined) return out;
  const picked = out.filter((i) => i.name === only || i.address === only);
  if (picked.length === 0) {
    throw new AppError(
      'ERR_INVALID_CONFIG',
      `--interface ${only}: no IPv4 interface of that name or address (have: ${out.map((i) => `${i.name} ${i.address}`).join(', ') || 'none'})`,
    );
  }
  return picked;
}
