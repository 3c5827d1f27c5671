import { describe, expect, it } from 'vitest';
import {
  buildTxt,
  candidateUrls,
  hostName,
  instanceName,
  isInSubnet,
  parseTxt,
} from '../../src/transport/mdns/mdns-records.js';

const id = 'ab'.repeat(32);

describe('mdns records', () => {
  it('reads back the TXT record it builds', () => {
    const txt = buildTxt({ id, kind: 'ed25519', domain: '239.255.42.99:7402' });
    expect(txt).toEqual({ v: '1', id, kind: 'ed25519', d: '239.255.42.99:7402' });
    expect(parseTxt(txt)).toEqual({
      ok: true,
      value: { id, kind: 'ed25519', domain: '239.255.42.99:7402' },
    });
  });

  it.each([
    ['no record', undefined],
    ['another version', { v: '2', id, kind: 'ed25519', d: 'x' }],
    ['a short id', { v: '1', id: 'abcd', kind: 'ed25519', d: 'x' }],
    ['an upper-case id', { v: '1', id: id.toUpperCase(), kind: 'ed25519', d: 'x' }],
    ['an unknown kind', { v: '1', id, kind: 'dsa', d: 'x' }],
    ['no domain', { v: '1', id, kind: 'rsa' }],
    ['a huge domain', { v: '1', id, kind: 'rsa', d: 'x'.repeat(65) }],
  ])('rejects a TXT record with %s', (_what, txt) => {
    expect(parseTxt(txt)).toEqual({ ok: false, error: 'bad-txt' });
  });

  it('makes one short ASCII DNS label per peer', () => {
    expect(instanceName('Alice’s laptop.home', id)).toBe(`Alice-s-laptop-home-${id.slice(0, 16)}`);
    expect(instanceName('…', id)).toBe(`conclave-${id.slice(0, 16)}`);
    expect(instanceName('x'.repeat(64), id).length).toBeLessThanOrEqual(63);
    expect(hostName(id)).toBe(`conclave-${id.slice(0, 16)}.local`);
  });

  it('tests IPv4 subnet membership', () => {
    expect(isInSubnet('10.77.3.9', { address: '10.77.3.1', prefixLength: 24 })).toBe(true);
    expect(isInSubnet('10.77.4.9', { address: '10.77.3.1', prefixLength: 24 })).toBe(false);
    expect(isInSubnet('127.8.0.1', { address: '127.0.0.1', prefixLength: 8 })).toBe(true);
    expect(isInSubnet('fe80::1', { address: '127.0.0.1', prefixLength: 8 })).toBe(false);
    expect(isInSubnet('10.0.0.300', { address: '10.0.0.1', prefixLength: 24 })).toBe(false);
  });

  it('asks only addresses on our own links, the answering one first', () => {
    const subnets = [{ address: '10.77.3.1', prefixLength: 24 }];
    expect(
      candidateUrls(
        {
          referer: '10.77.3.2',
          addresses: ['192.0.2.2', 'fe80::1', '10.77.3.7', '10.77.3.2'],
          port: 7400,
        },
        subnets,
      ),
    ).toEqual(['http://10.77.3.2:7400', 'http://10.77.3.7:7400']);
    expect(candidateUrls({ addresses: ['192.0.2.2', '8.8.8.8'], port: 7400 }, subnets)).toEqual([]);
    expect(candidateUrls({ addresses: ['10.77.3.2'], port: 0 }, subnets)).toEqual([]);
    const many = Array.from({ length: 10 }, (_, i) => `10.77.3.${i + 10}`);
    expect(candidateUrls({ addresses: many, port: 1 }, subnets)).toHaveLength(4);
  });
});
