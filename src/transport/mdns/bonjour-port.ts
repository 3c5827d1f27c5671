/**
 * mDNS/DNS-SD on one IPv4 interface through `bonjour-service`: publish one service, browse one
 * service type, report what happens. One instance per interface, because multicast-dns takes a
 * single interface and otherwise sends through the default route.
 *
 * Gotchas handled here (see ecosystem-research §6):
 * - multicast-dns binds to `opts.bind || opts.interface`, and a socket bound to a unicast address
 *   never receives 224.0.0.251, so we pass `{interface: address, bind: '0.0.0.0'}`;
 * - its `error` event (EADDRINUSE/EACCES on 5353, e.g. when avahi holds the port) would crash the
 *   process if unhandled, and Bonjour's own error callback throws by default;
 * - it sets the multicast interface only after joining the group succeeds, so a failed join would
 *   leave sends on the default route: we own the socket, set the interface before any send and
 *   refuse every datagram that is not to the mDNS group on that interface.
 *
 * @example
 * const port = openBonjourPort({ name: 'eth0', address: '10.0.0.5', prefixLength: 24 });
 * port.browse({ up: (s) => …, down: (fqdn) => … });
 * port.publish({ instance: 'alice-…', host: 'conclave-….local', port: 7400, txt: {…} });
 * await port.close();
 */
import { createSocket, type Socket } from 'node:dgram';
import Bonjour from 'bonjour-service';
import { MDNS_SERVICE_TYPE, type Ipv4Subnet } from './mdns-records.js';

export interface MdnsFoundService {
  readonly fqdn: string;
  readonly port: number;
  readonly addresses: readonly string[];
  /** Source address of the answer that announced it. */
  readonly referer?: string;
  readonly txt: unknown;
}

export interface MdnsBrowseHandlers {
  up(service: MdnsFoundService): void;
  down(fqdn: string): void;
}

export interface MdnsPublication {
  readonly instance: string;
  readonly host: string;
  readonly port: number;
  readonly txt: Readonly<Record<string, string>>;
}

export interface MdnsInterfaceStatus {
  readonly name: string;
  readonly address: string;
  isBound: boolean;
  isJoined: boolean;
  isPublished: boolean;
  sent: number;
  received: number;
  /** Datagrams we refused to send (wrong destination, or no multicast interface set). */
  refused: number;
  lastError: string | null;
}

/** The seam the mDNS discovery talks to; `openBonjourPort` is the real one. */
export interface MdnsPort {
  readonly subnet: Ipv4Subnet;
  publish(p: MdnsPublication): void;
  browse(handlers: MdnsBrowseHandlers): void;
  /** Ask the link again who offers our service type. */
  query(): void;
  status(): MdnsInterfaceStatus;
  /** Send goodbyes (bounded wait), then close the socket. Idempotent. */
  close(): Promise<void>;
}

export interface BonjourPortInit extends Ipv4Subnet {
  readonly name: string;
  /** mDNS port and group; other values only in tests, to stay off the real 5353. */
  readonly mdnsPort?: number;
  readonly mdnsGroup?: string;
  /** Services the browser keeps at most (default 1024); the oldest go first. */
  readonly maxBrowsed?: number;
}

/**
 * bonjour-service (1.4.4, pinned) keeps every service any answer ever named, and finds each new
 * answer's service by a linear search: forged answers on the LAN would grow memory and the cost of
 * every packet without bound. Past the cap the oldest are removed through the browser's own
 * `removeService` (private in its types, stable in the pinned version), which emits `down`.
 */
const MAX_BROWSED = 1024;

type SendFn = (...args: unknown[]) => void;

interface MulticastDns {
  on(event: string, listener: (...args: unknown[]) => void): void;
}

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
}

export function openBonjourPort(init: BonjourPortInit): MdnsPort {
  const group = init.mdnsGroup ?? '224.0.0.251';
  const mdnsPort = init.mdnsPort ?? 5353;
  const status: MdnsInterfaceStatus = {
    name: init.name,
    address: init.address,
    isBound: false,
    isJoined: false,
    isPublished: false,
    sent: 0,
    received: 0,
    refused: 0,
    lastError: null,
  };
  const socket: Socket = createSocket({ type: 'udp4', reuseAddr: true });
  let isInterfaceSet = false;
  // Registered before multicast-dns adds its own listener, so it runs before anything is sent.
  socket.on('listening', () => {
    try {
      socket.setMulticastInterface(init.address);
      isInterfaceSet = true;
    } catch (e) {
      status.lastError = `multicast interface: ${code(e)}`;
    }
  });
  const rawSend = socket.send.bind(socket) as SendFn;
  (socket as unknown as { send: SendFn }).send = (...args: unknown[]) => {
    // multicast-dns calls send(buf, offset, length, port, address, cb).
    const [, , , port, address, cb] = args;
    if (!isInterfaceSet || port !== mdnsPort || address !== group) {
      status.refused += 1;
      if (typeof cb === 'function') (cb as (e: Error | null) => void)(null);
      return;
    }
    status.sent += 1;
    rawSend(...args);
  };

  const bonjour = new Bonjour(
    {
      interface: init.address,
      bind: '0.0.0.0',
      port: mdnsPort,
      ip: group,
      socket,
    } as unknown as ConstructorParameters<typeof Bonjour>[0],
    (e: unknown) => {
      status.lastError = `send: ${code(e)}`;
    },
  );
  const mdns = (bonjour as unknown as { server: { mdns: MulticastDns } }).server.mdns;
  mdns.on('error', (e) => {
    status.lastError = `socket: ${code(e)}`;
  });
  mdns.on('warning', (e) => {
    status.lastError = `warning: ${code(e)}`;
  });
  mdns.on('ready', () => (status.isBound = true));
  mdns.on('networkInterface', () => (status.isJoined = true));
  mdns.on('packet', () => (status.received += 1));

  let browser: ReturnType<Bonjour['find']> | undefined;
  let closing: Promise<void> | undefined;

  return {
    subnet: { address: init.address, prefixLength: init.prefixLength },
    publish(p) {
      const service = bonjour.publish({
        name: p.instance,
        type: MDNS_SERVICE_TYPE,
        protocol: 'tcp',
        host: p.host,
        port: p.port,
        txt: { ...p.txt },
        // The instance name carries the peer id, so it is unique; probing would only delay us.
        probe: false,
        disableIPv6: true,
      });
      service.on('up', () => (status.isPublished = true));
      service.on('error', (e: unknown) => (status.lastError = `publish: ${code(e)}`));
    },
    browse(handlers) {
      if (browser) return;
      const toFound = (s: Bonjour.Service): MdnsFoundService => ({
        fqdn: s.fqdn,
        port: s.port,
        addresses: s.addresses ?? [],
        ...(s.referer?.address !== undefined ? { referer: s.referer.address } : {}),
        txt: s.txt as unknown,
      });
      browser = bonjour.find({ type: MDNS_SERVICE_TYPE, protocol: 'tcp' });
      const b = browser;
      const cap = init.maxBrowsed ?? MAX_BROWSED;
      const trim = (): void => {
        const list = b.services;
        if (list.length <= cap) return;
        const internal = b as unknown as { removeService(fqdn: string): void };
        for (const old of list.slice(0, list.length - cap)) internal.removeService(old.fqdn);
      };
      browser.on('up', (s) => {
        handlers.up(toFound(s));
        trim();
      });
      browser.on('txt-update', (s) => handlers.up(toFound(s)));
      browser.on('srv-update', (s) => handlers.up(toFound(s)));
      browser.on('down', (s) => handlers.down(s.fqdn));
    },
    query() {
      // Services whose records' TTL ran out without a goodbye go (`down`), then ask again.
      browser?.expire();
      browser?.update();
    },
    status: () => ({ ...status }),
    close() {
      closing ??= (async () => {
        browser?.stop();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1_000);
          bonjour.unpublishAll(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1_000);
          bonjour.destroy(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      })();
      return closing;
    },
  };
}
