/** An in-process multicast bus: the honest twin of `openMulticast` for unit tests. */
import { Subject } from 'rxjs';
import type { Datagram, Multicast } from '../../src/transport/multicast/udp-multicast.js';

export interface FakeBus {
  join(address: string): Multicast & { readonly sent: Buffer[] };
  inject(bytes: Buffer, fromAddress: string, receivedAt?: number): void;
}

export function createFakeBus(): FakeBus {
  const all = new Subject<Datagram>();
  return {
    join(address) {
      const sent: Buffer[] = [];
      return {
        sent,
        datagrams$: all.asObservable(),
        send(bytes) {
          sent.push(bytes);
          all.next({ bytes, from: { address, port: 40000 }, receivedAt: Date.now() });
        },
        status: () => [],
        close: () => Promise.resolve(),
      };
    },
    inject(bytes, fromAddress, receivedAt = Date.now()) {
      all.next({ bytes, from: { address: fromAddress, port: 40000 }, receivedAt });
    },
  };
}
