/** `conclave peers`, `verify`, `unverify`, `block`: who is out there and how much we trust them. */
import type { Command } from 'commander';
import type { PeerView } from '../../actors/peer-directory.js';
import type { Pin } from '../../machines/trust.machine.js';
import { apiJson, resolveTarget } from '../api-client.js';
import { clientOptions, type ClientOpts } from '../client-options.js';
import { printJson, printLine } from '../output.js';
import { formatTable } from '../format.js';
import { printable } from './room-format.js';

const BADGE: Record<string, string> = {
  verified: '✔ verified',
  unverified: '· unverified',
  blocked: '✖ blocked',
};

function ago(iso: string | null): string {
  if (iso === null) return '-';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 60
    ? `${s}s ago`
    : s < 3600
      ? `${Math.round(s / 60)}m ago`
      : `${Math.round(s / 3600)}h ago`;
}

export function formatPeers(peers: readonly PeerView[]): string {
  if (peers.length === 0) {
    return 'no peers yet — others appear here when they are discovered on the LAN, or after "conclave connect URL"';
  }
  const rows = peers.map((p) => [
    p.peerId.slice(0, 12),
    // Names and addresses come from other peers' beacons: never let them drive the terminal.
    printable(p.name ?? '-'),
    BADGE[p.trust ?? ''] ?? '? no pin',
    p.via ?? '-',
    printable(p.addresses[0] ?? '-'),
    ago(p.lastSeen),
  ]);
  return formatTable(['PEER', 'NAME', 'TRUST', 'VIA', 'ADDRESS', 'SEEN'], rows);
}

function formatPin(pin: Pin): string {
  return `${pin.peerId.slice(0, 12)}  ${printable(pin.name ?? '')}  now ${BADGE[pin.state] ?? pin.state}`;
}

export function registerPeersCommands(program: Command): void {
  clientOptions(
    program
      .command('peers')
      .summary('list discovered and known peers with their trust state')
      .addHelpText(
        'after',
        '\nTRUST: ✔ verified (you checked the fingerprint), · unverified (trusted on first use), ✖ blocked.\nExample:\n  $ conclave peers --json',
      ),
  ).action(async (o: ClientOpts) => {
    const peers = await apiJson<PeerView[]>(await resolveTarget(o), 'GET', '/api/peers');
    if (o.json) printJson(peers);
    else printLine(formatPeers(peers));
  });

  clientOptions(
    program
      .command('verify')
      .summary('mark a peer verified after checking its fingerprint or SAS out of band')
      .argument('<peer-id>', 'peer id or a unique prefix (4+ hex digits)')
      .option(
        '--fingerprint <fp>',
        'the fingerprint you compared (refused if it does not match the peer id)',
      )
      .addHelpText(
        'after',
        '\nCompare the fingerprint (conclave info on their side) or the SAS shown after a handshake over a\nchannel you trust — in person or by voice — then:\n  $ conclave verify 3f9a1c --fingerprint "3f9a 1c…"',
      ),
  ).action(async (peerId: string, o: ClientOpts & { fingerprint?: string }) => {
    const pin = await apiJson<Pin>(
      await resolveTarget(o),
      'POST',
      `/api/peers/${encodeURIComponent(peerId)}/verify`,
      o.fingerprint ? { fingerprint: o.fingerprint } : {},
    );
    if (o.json) printJson(pin);
    else printLine(formatPin(pin));
  });

  clientOptions(
    program
      .command('unverify')
      .summary('take back a verification (or unblock) a peer')
      .argument('<peer-id>', 'peer id or unique prefix'),
  ).action(async (peerId: string, o: ClientOpts) => {
    const pin = await apiJson<Pin>(
      await resolveTarget(o),
      'DELETE',
      `/api/peers/${encodeURIComponent(peerId)}/verify`,
    );
    if (o.json) printJson(pin);
    else printLine(formatPin(pin));
  });

  clientOptions(
    program
      .command('block')
      .summary('refuse all handshakes and room keys to a peer')
      .argument('<peer-id>', 'peer id or unique prefix'),
  ).action(async (peerId: string, o: ClientOpts) => {
    const pin = await apiJson<Pin>(
      await resolveTarget(o),
      'POST',
      `/api/peers/${encodeURIComponent(peerId)}/block`,
      {},
    );
    if (o.json) printJson(pin);
    else printLine(formatPin(pin));
  });
}
