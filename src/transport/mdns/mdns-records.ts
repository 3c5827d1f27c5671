/**
 * What conclave puts into DNS-SD and how it reads it back: the service type, the instance name,
 * the TXT record `{v, id, kind, d}` and which addresses of a found service are worth asking.
 * Pure: no sockets.
 *
 * `d` is the discovery domain, the `--multicast GROUP:PORT` of the publisher. mDNS has one fixed
 * group and port (224.0.0.251:5353) for a whole link, so without it peers that chose different
 * multicast groups (to stay apart) would still find each other through mDNS.
 */
import { err, ok, type Result } from '../../protocol/result.js';

/** `_conclave._tcp` */
export const MDNS_SERVICE_TYPE = 'conclave';
export const MDNS_TXT_VERSION = '1';

export type MdnsRejectReason =
  | 'bad-txt'
  | 'other-domain'
  | 'no-usable-address'
  | 'table-full'
  | 'not-a-peer'
  | 'bad-key'
  | 'id-mismatch';

export interface MdnsTxt {
  readonly id: string;
  readonly kind: 'ed25519' | 'rsa';
  readonly domain: string;
}

export function buildTxt(t: MdnsTxt): Record<string, string> {
  return { v: MDNS_TXT_VERSION, id: t.id, kind: t.kind, d: t.domain };
}

export function parseTxt(txt: unknown): Result<MdnsTxt, 'bad-txt'> {
  if (typeof txt !== 'object' || txt === null) return err('bad-txt');
  const t = txt as Record<string, unknown>;
  if (t.v !== MDNS_TXT_VERSION) return err('bad-txt');
  if (typeof t.id !== 'string' || !/^[0-9a-f]{64}$/.test(t.id)) return err('bad-txt');
  if (t.kind !== 'ed25519' && t.kind !== 'rsa') return err('bad-txt');
  if (typeof t.d !== 'string' || t.d.length === 0 || t.d.length > 64) return err('bad-txt');
  return ok({ id: t.id, kind: t.kind, domain: t.d });
}

/** A DNS-SD instance name: readable, unique per peer, one DNS label (≤ 63 bytes, ASCII). */
export function instanceName(name: string, peerId: string): string {
  const readable = name
    .replace(/[^A-Za-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `${readable || 'conclave'}-${peerId.slice(0, 16)}`;
}

/** The host name in our SRV record: per peer, so peers on one machine do not share A records. */
export function hostName(peerId: string): string {
  return `conclave-${peerId.slice(0, 16)}.local`;
}

export interface Ipv4Subnet {
  readonly address: string;
  readonly prefixLength: number;
}

function ipv4ToInt(a: string): number | undefined {
  const parts = a.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function isInSubnet(address: string, subnet: Ipv4Subnet): boolean {
  const a = ipv4ToInt(address);
  const s = ipv4ToInt(subnet.address);
  if (a === undefined || s === undefined) return false;
  const size = 2 ** (32 - Math.min(32, Math.max(0, subnet.prefixLength)));
  return Math.floor(a / size) === Math.floor(s / size);
}

/**
 * Peer-API base URLs worth asking for a found service, best first: the address the mDNS answer
 * came from, then its A records — only IPv4 addresses on a subnet we run mDNS on, so a forged
 * answer cannot make us send requests anywhere beyond our own links.
 */
export function candidateUrls(
  service: {
    readonly addresses: readonly string[];
    readonly referer?: string;
    readonly port: number;
  },
  subnets: readonly Ipv4Subnet[],
  max = 4,
): string[] {
  if (!Number.isInteger(service.port) || service.port < 1 || service.port > 65535) return [];
  const seen = new Set<string>();
  for (const a of [service.referer ?? '', ...service.addresses]) {
    if (seen.size >= max) break;
    if (subnets.some((s) => isInSubnet(a, s))) seen.add(a);
  }
  return [...seen].map((a) => `http://${a}:${service.port}`);
}
