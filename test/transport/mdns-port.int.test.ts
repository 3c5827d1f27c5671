/**
 * The bonjour-service port over real sockets on loopback. A random group and port instead of
 * 224.0.0.251:5353, so the test never meets a real mDNS responder or a parallel run.
 */
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  openBonjourPort,
  type MdnsFoundService,
  type MdnsPort,
} from '../../src/transport/mdns/bonjour-port.js';

const open: MdnsPort[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

function isolated(address: string): Parameters<typeof openBonjourPort>[0] {
  const r = (): number => 1 + Math.floor(Math.random() * 250);
  return {
    name: 'lo',
    address,
    prefixLength: 8,
    mdnsGroup: `239.255.${r()}.${r()}`,
    mdnsPort: 20_000 + Math.floor(Math.random() * 20_000),
  };
}

describe('bonjour port', () => {
  it('publishes a service another port finds on loopback, then says goodbye', async () => {
    const where = isolated('127.0.0.1');
    const a = openBonjourPort(where);
    const b = openBonjourPort(where);
    open.push(b, a);
    const found: MdnsFoundService[] = [];
    const gone: string[] = [];
    b.browse({ up: (s) => found.push(s), down: (f) => gone.push(f) });
    a.publish({
      instance: 'alice-0123456789abcdef',
      host: 'conclave-0123456789abcdef.local',
      port: 7400,
      txt: { v: '1', id: 'x' },
    });
    await vi.waitFor(() =>
      expect(found).toContainEqual(
        expect.objectContaining({
          fqdn: 'alice-0123456789abcdef._conclave._tcp.local',
          port: 7400,
          referer: '127.0.0.1',
          txt: { v: '1', id: 'x' },
        }),
      ),
    );
    expect(a.status()).toMatchObject({ isBound: true, isJoined: true, refused: 0 });
    expect(a.status().sent).toBeGreaterThan(0);
    expect(b.status().received).toBeGreaterThan(0);

    await a.close();
    await vi.waitFor(() => expect(gone).toEqual(['alice-0123456789abcdef._conclave._tcp.local']));
  });

  it('sends nothing at all when it cannot pin the multicast interface', async () => {
    // 203.0.113.0/24 is TEST-NET-3: not an address of this host, so the interface cannot be set.
    const p = openBonjourPort(isolated('203.0.113.77'));
    open.push(p);
    p.browse({ up: () => undefined, down: () => undefined });
    p.publish({ instance: 'nobody', host: 'nobody.local', port: 7400, txt: {} });
    await vi.waitFor(() => expect(p.status().refused).toBeGreaterThan(0));
    expect(p.status()).toMatchObject({ sent: 0, isJoined: false });
    expect(p.status().lastError).not.toBeNull();
  });

  it('keeps at most maxBrowsed services from forged answers, dropping the oldest (down)', async () => {
    const where = isolated('127.0.0.1');
    const b = openBonjourPort({ ...where, maxBrowsed: 20 });
    open.push(b);
    const found: string[] = [];
    const gone: string[] = [];
    b.browse({ up: (s) => found.push(s.fqdn), down: (f) => gone.push(f) });
    // A LAN host answering with 100 made-up services, as fast as it likes.
    const mdns = createRequire(import.meta.url)('multicast-dns') as (o: object) => {
      respond(packet: object, cb?: () => void): void;
      destroy(): void;
    };
    const liar = mdns({
      multicast: true,
      interface: '127.0.0.1',
      port: where.mdnsPort,
      ip: where.mdnsGroup,
      loopback: true,
    });
    try {
      for (let i = 0; i < 100; i++) {
        const fqdn = `fake-${i}._conclave._tcp.local`;
        const host = `fake-${i}.local`;
        liar.respond({
          answers: [
            { name: '_conclave._tcp.local', type: 'PTR', ttl: 120, data: fqdn },
            { name: fqdn, type: 'SRV', ttl: 120, data: { port: 7400, target: host } },
            { name: fqdn, type: 'TXT', ttl: 120, data: ['v=1'] },
            { name: host, type: 'A', ttl: 120, data: '127.0.0.1' },
          ],
        });
        await new Promise((r) => setTimeout(r, 2));
      }
      await vi.waitFor(() => expect(found.length).toBe(100));
      expect(gone).toHaveLength(80);
      expect(gone[0]).toBe('fake-0._conclave._tcp.local');
    } finally {
      liar.destroy();
    }
  });
});
