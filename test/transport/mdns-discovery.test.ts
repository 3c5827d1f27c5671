import { afterEach, describe, expect, it, vi } from 'vitest';
import { exportPublicKey, generateIdentity, type Identity } from '../../src/crypto/index.js';
import type { DiscoveryEvent } from '../../src/machines/discovery.machine.js';
import type {
  MdnsBrowseHandlers,
  MdnsFoundService,
  MdnsPort,
  MdnsPublication,
} from '../../src/transport/mdns/bonjour-port.js';
import {
  createMdnsDiscovery,
  type MdnsDiscovery,
  type MdnsDiscoveryDeps,
} from '../../src/transport/mdns/mdns-discovery.js';

const DOMAIN = '239.255.42.99:7402';
const LINK = { address: '10.77.3.1', prefixLength: 24 };

/** An in-memory mDNS link: what one port publishes, every browser hears. */
function createFakeLink() {
  const browsers: MdnsBrowseHandlers[] = [];
  const published: MdnsPublication[] = [];
  let queries = 0;
  const port: MdnsPort = {
    subnet: LINK,
    publish: (p) => published.push(p),
    browse: (h) => browsers.push(h),
    query: () => (queries += 1),
    status: () => ({
      name: 'fake0',
      address: LINK.address,
      isBound: true,
      isJoined: true,
      isPublished: published.length > 0,
      sent: 0,
      received: 0,
      refused: 0,
      lastError: null,
    }),
    close: () => Promise.resolve(),
  };
  return {
    port,
    published,
    queries: () => queries,
    up: (s: MdnsFoundService) => browsers.forEach((b) => b.up(s)),
    down: (fqdn: string) => browsers.forEach((b) => b.down(fqdn)),
  };
}

function hello(id: Identity, name: string, over: Record<string, unknown> = {}) {
  return {
    v: 1,
    peerId: id.fingerprint,
    name,
    identityKind: id.kind,
    publicKey: exportPublicKey(id),
    ...over,
  };
}

function service(id: string, over: Partial<MdnsFoundService> = {}): MdnsFoundService {
  return {
    fqdn: `peer-${id.slice(0, 8)}._conclave._tcp.local`,
    port: 7400,
    addresses: ['10.77.3.2'],
    referer: '10.77.3.2',
    txt: { v: '1', id, kind: 'ed25519', d: DOMAIN },
    ...over,
  };
}

const running: MdnsDiscovery[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

async function setUp(
  over: Partial<MdnsDiscoveryDeps> = {},
  init: Partial<Parameters<typeof createMdnsDiscovery>[0]> = {},
) {
  const [self, other] = await Promise.all([
    generateIdentity('ed25519'),
    generateIdentity('ed25519'),
  ]);
  const link = createFakeLink();
  const answers = new Map<string, unknown>();
  const fetched: string[] = [];
  const events: DiscoveryEvent[] = [];
  const known = new Set<string>();
  const fresh = new Set<string>();
  const d = createMdnsDiscovery(
    {
      selfPeerId: self.fingerprint,
      name: 'self',
      kind: 'ed25519',
      peerPort: 7400,
      domain: DOMAIN,
      recheckMs: 30,
      ...init,
    },
    {
      ports: [link.port],
      fetchHello: (url) => {
        fetched.push(url);
        const a = answers.get(url);
        return a === undefined ? Promise.reject(new Error('unreachable')) : Promise.resolve(a);
      },
      send: (e) => {
        events.push(e);
        if (e.type === 'peer.seen') known.add(e.peerId);
        else known.delete(e.peerId);
      },
      isKnown: (id) => known.has(id),
      isFreshElsewhere: (id) => fresh.has(id),
      ...over,
    },
  );
  running.push(d);
  d.start();
  return { d, self, other, link, answers, fetched, events, known, fresh };
}

describe('mdns discovery', () => {
  it('publishes _conclave._tcp with its id, kind and domain on the peer port', async () => {
    const { link, self } = await setUp();
    expect(link.published).toEqual([
      {
        instance: `self-${self.fingerprint.slice(0, 16)}`,
        host: `conclave-${self.fingerprint.slice(0, 16)}.local`,
        port: 7400,
        txt: { v: '1', id: self.fingerprint, kind: 'ed25519', d: DOMAIN },
      },
    ]);
  });

  it('reports a found service as a peer only after its hello proves the TXT id', async () => {
    const { link, other, answers, fetched, events, d } = await setUp();
    answers.set('http://10.77.3.7:7400', hello(other, 'bob'));
    link.up(service(other.fingerprint, { addresses: ['192.0.2.9', '10.77.3.7'] }));
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(events[0]).toMatchObject({
      type: 'peer.seen',
      peerId: other.fingerprint,
      name: 'bob',
      kind: 'ed25519',
      urls: ['http://10.77.3.7:7400'],
      rooms: [],
      via: 'mdns',
    });
    // the referer first, never the off-link address
    expect(fetched.slice(0, 2)).toEqual(['http://10.77.3.2:7400', 'http://10.77.3.7:7400']);
    expect(d.stats()).toMatchObject({ services: 1, verified: 1, owned: 1 });
    expect(d.lastSeen(other.fingerprint)).toBeTypeOf('number');
  });

  it.each([
    ['its TXT id is another peer', 'id-mismatch', (o: Identity, x: Identity) => hello(x, 'x')],
    [
      'its peer id is not the fingerprint of its key',
      'bad-key',
      (o: Identity, x: Identity) => hello(o, 'o', { publicKey: exportPublicKey(x) }),
    ],
    ['it is not a conclave peer', 'not-a-peer', () => ({ hello: 'world' })],
  ] as const)('ignores a service when %s', async (_what, reason, answer) => {
    const { link, other, answers, events, d } = await setUp();
    const third = await generateIdentity('ed25519');
    answers.set('http://10.77.3.2:7400', answer(other, third));
    link.up(service(other.fingerprint));
    await vi.waitFor(() => expect(d.stats().rejected[reason]).toBeGreaterThanOrEqual(1));
    expect(events).toEqual([]);
  });

  it('asks nothing of services in another domain, off our links, or of itself', async () => {
    const { link, self, other, fetched, d } = await setUp();
    link.up(
      service(other.fingerprint, {
        txt: { v: '1', id: other.fingerprint, kind: 'ed25519', d: '239.1.1.1:1' },
      }),
    );
    link.up(service(other.fingerprint, { referer: '192.0.2.9', addresses: ['8.8.8.8'] }));
    link.up(service(other.fingerprint, { txt: { v: '1', id: 'nope' } }));
    link.up(service(self.fingerprint));
    await new Promise((r) => setTimeout(r, 100));
    expect(fetched).toEqual([]);
    expect(d.stats()).toMatchObject({
      services: 0,
      rejected: { 'other-domain': 1, 'no-usable-address': 1, 'bad-txt': 1 },
    });
  });

  it('expires a peer it added when the service says goodbye', async () => {
    const { link, other, answers, events } = await setUp();
    answers.set('http://10.77.3.2:7400', hello(other, 'bob'));
    link.up(service(other.fingerprint));
    await vi.waitFor(() => expect(events).toHaveLength(1));
    link.down(service(other.fingerprint).fqdn);
    expect(events.map((e) => e.type)).toEqual(['peer.seen', 'peer.expired']);
  });

  it('leaves a peer to the method that vouches for it', async () => {
    const { link, other, answers, events, known, fresh, d } = await setUp();
    known.add(other.fingerprint); // multicast found it first…
    fresh.add(other.fingerprint); // …and still hears it
    answers.set('http://10.77.3.2:7400', hello(other, 'bob'));
    link.up(service(other.fingerprint));
    await vi.waitFor(() => expect(d.stats().verified).toBe(1));
    link.down(service(other.fingerprint).fqdn);
    expect(events).toEqual([]);
  });

  it('does not expire an added peer on goodbye while beacons still vouch for it', async () => {
    const { link, other, answers, events, fresh } = await setUp();
    answers.set('http://10.77.3.2:7400', hello(other, 'bob'));
    link.up(service(other.fingerprint));
    await vi.waitFor(() => expect(events).toHaveLength(1));
    fresh.add(other.fingerprint);
    link.down(service(other.fingerprint).fqdn);
    expect(events).toHaveLength(1);
  });

  it('expires an added peer that stops answering, and re-adds it when it answers again', async () => {
    const { link, other, answers, events } = await setUp();
    const url = 'http://10.77.3.2:7400';
    answers.set(url, hello(other, 'bob'));
    link.up(service(other.fingerprint));
    await vi.waitFor(() => expect(events).toHaveLength(1));
    answers.delete(url); // crashed: no goodbye
    await vi.waitFor(
      () => expect(events.map((e) => e.type)).toEqual(['peer.seen', 'peer.expired']),
      {
        timeout: 3_000,
      },
    );
    answers.set(url, hello(other, 'bob'));
    await vi.waitFor(
      () => expect(events.map((e) => e.type)).toEqual(['peer.seen', 'peer.expired', 'peer.seen']),
      { timeout: 3_000 },
    );
  });

  it('re-adds a peer it had verified once another method lets it expire', async () => {
    const { link, other, answers, events, known, fresh } = await setUp();
    known.add(other.fingerprint);
    fresh.add(other.fingerprint);
    answers.set('http://10.77.3.2:7400', hello(other, 'bob'));
    link.up(service(other.fingerprint));
    await new Promise((r) => setTimeout(r, 100));
    expect(events).toEqual([]);
    known.delete(other.fingerprint); // beacons went quiet and multicast expired it
    fresh.delete(other.fingerprint);
    await vi.waitFor(() => expect(events).toMatchObject([{ type: 'peer.seen', via: 'mdns' }]), {
      timeout: 3_000,
    });
  });

  it('makes room in a full table by dropping a record that never proved a peer', async () => {
    const { link, other, answers, events, d } = await setUp({}, { maxServices: 3 });
    // Forged records: no hello answers at their addresses, and no goodbye will ever come.
    for (let i = 0; i < 3; i++)
      link.up(service(`${i}`.repeat(64), { fqdn: `fake-${i}._conclave._tcp.local` }));
    await vi.waitFor(() => expect(d.stats().helloFailed).toBeGreaterThanOrEqual(6));
    answers.set('http://10.77.3.2:7400', hello(other, 'bob'));
    link.up(service(other.fingerprint));
    await vi.waitFor(() =>
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'peer.seen', peerId: other.fingerprint }),
      ),
    );
    expect(d.stats().services).toBe(3);
    expect(d.stats().rejected['table-full']).toBe(0);
  });

  it('re-asks the link, less and less often', async () => {
    const { link } = await setUp();
    await vi.waitFor(() => expect(link.queries()).toBeGreaterThanOrEqual(1), { timeout: 3_000 });
  });
});
