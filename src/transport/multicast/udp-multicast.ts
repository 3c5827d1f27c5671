/**
 * UDP multicast as RxJS: one receiving socket joined to the group on every chosen interface, one
 * sending socket per interface with its multicast interface set explicitly (the default route may
 * point elsewhere, and joining without an interface fails with ENODEV inside a namespace).
 * Failures on one interface are reported per interface and never crash the peer.
 *
 * @example
 * const mc = await openMulticast({ group: '239.255.42.99', port: 7402, interfaces });
 * mc.datagrams$.subscribe(({ bytes, from }) => …);
 * mc.send(Buffer.from('hi'));
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Observable } from 'rxjs';
import { Subject, share } from 'rxjs';
import type { DiscoveryInterface } from './interfaces.js';

export interface Datagram {
  readonly bytes: Buffer;
  readonly from: { readonly address: string; readonly port: number };
  readonly receivedAt: number;
}

export interface InterfaceStatus {
  readonly name: string;
  readonly address: string;
  isJoined: boolean;
  isSending: boolean;
  sent: number;
  sendErrors: number;
  lastError: string | null;
}

export interface MulticastInit {
  readonly group: string;
  readonly port: number;
  readonly interfaces: readonly DiscoveryInterface[];
  /** Kernel receive buffer; beacons are small, bursts of forged ones are not. */
  readonly recvBufferSize?: number;
}

export interface Multicast {
  readonly datagrams$: Observable<Datagram>;
  /** Send on every interface that could be set up. Never throws. */
  send(bytes: Buffer): void;
  status(): readonly InterfaceStatus[];
  close(): Promise<void>;
}

function bindSocket(socket: Socket, port: number, address?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    socket.once('error', onError);
    socket.bind({ port, ...(address !== undefined ? { address } : {}), exclusive: false }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

export async function openMulticast(init: MulticastInit): Promise<Multicast> {
  const statuses: InterfaceStatus[] = init.interfaces.map((i) => ({
    name: i.name,
    address: i.address,
    isJoined: false,
    isSending: false,
    sent: 0,
    sendErrors: 0,
    lastError: null,
  }));
  const incoming = new Subject<Datagram>();
  const receiver = createSocket({
    type: 'udp4',
    reuseAddr: true,
    recvBufferSize: init.recvBufferSize ?? 1 << 20,
  });
  receiver.on('error', () => undefined);
  receiver.on('message', (bytes, rinfo) => {
    incoming.next({
      bytes,
      from: { address: rinfo.address, port: rinfo.port },
      receivedAt: Date.now(),
    });
  });
  await bindSocket(receiver, init.port);
  for (const s of statuses) {
    try {
      receiver.addMembership(init.group, s.address);
      s.isJoined = true;
    } catch (e) {
      s.lastError = `join: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    }
  }

  const senders: Array<{ socket: Socket; status: InterfaceStatus }> = [];
  for (const s of statuses) {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    socket.on('error', (e) => {
      s.sendErrors += 1;
      s.lastError = `send: ${(e as NodeJS.ErrnoException).code ?? e.message}`;
    });
    try {
      await bindSocket(socket, 0, s.address);
      socket.setMulticastInterface(s.address);
      socket.setMulticastTTL(1);
      socket.setMulticastLoopback(true);
      s.isSending = true;
      senders.push({ socket, status: s });
    } catch (e) {
      s.lastError = `sender: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
      socket.close();
    }
  }

  let isClosed = false;
  return {
    datagrams$: incoming.asObservable().pipe(share()),
    send(bytes) {
      if (isClosed) return;
      for (const { socket, status } of senders) {
        socket.send(bytes, init.port, init.group, (e) => {
          if (e) {
            status.sendErrors += 1;
            status.lastError = `send: ${(e as NodeJS.ErrnoException).code ?? e.message}`;
          } else {
            status.sent += 1;
          }
        });
      }
    },
    status: () => statuses.map((s) => ({ ...s })),
    async close() {
      if (isClosed) return;
      isClosed = true;
      incoming.complete();
      await Promise.all(
        [receiver, ...senders.map((s) => s.socket)].map(
          (s) => new Promise<void>((resolve) => s.close(() => resolve())),
        ),
      );
    },
  };
}
