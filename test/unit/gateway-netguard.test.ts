/** Peer names, public addresses and bounded limiter maps (issue #14 findings 5 and 7). */
import { describe, expect, it } from 'vitest';
import { isPublicAddress, publicFetch, publicLookup } from '../../src/gateway/netguard';
import { isPeerName } from '../../src/wire/federation';
import { RateLimiter } from '../../src/gateway/ratelimit';
import { BoundedMap } from '../../src/gateway/bounded';

describe('peer names', () => {
  it('are public DNS names: no IP literals, single labels or localhost', () => {
    for (const ok of ['acme.example', 'gw.globex.de', 'a-b.co']) expect([ok, isPeerName(ok)]).toEqual([ok, true]);
    for (const bad of [
      '127.0.0.1',
      '10.1.2.3',
      '[::1]',
      '::1',
      'localhost',
      'gw.localhost',
      'intranet',
      'printer.local',
      'ACME.example',
      'acme.example.',
      '',
    ]) {
      expect([bad, isPeerName(bad)]).toEqual([bad, false]);
    }
  });
});

describe('public addresses', () => {
  it('tells public from loopback, private, link-local, CGNAT, documentation and mapped addresses', () => {
    for (const ok of ['8.8.8.8', '1.1.1.1', '2a00:1450:4001:80b::200e']) expect([ok, isPublicAddress(ok)]).toEqual([ok, true]);
    for (const bad of [
      '127.0.0.1',
      '127.5.5.5',
      '10.0.0.1',
      '172.16.3.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '192.0.2.1',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      'not an ip',
    ]) {
      expect([bad, isPublicAddress(bad)]).toEqual([bad, false]);
    }
  });

  it('refuses a name that resolves to loopback at connection time', async () => {
    const err = await new Promise<NodeJS.ErrnoException | null>((r) => publicLookup('localhost', {}, (e) => r(e)));
    expect(err?.code).toBe('ENOTPUBLIC');
    // refused by the lookup inside the connection, not by a closed port
    await expect(publicFetch('https://localhost:8443/x', {})).rejects.toMatchObject({ cause: { code: 'ENOTPUBLIC' } });
    await expect(publicFetch('https://127.0.0.1:1/x', {})).rejects.toThrow(/not a public address/);
    await expect(publicFetch('https://[::1]:1/x', {})).rejects.toThrow(/not a public address/);
  });
});

describe('bounded maps', () => {
  it('keep at most max keys, forgetting the least recently used', () => {
    const m = new BoundedMap<string, number>(3);
    for (const k of ['a', 'b', 'c']) m.set(k, 1);
    m.get('a');
    m.set('d', 1);
    expect([...m.entries()].map(([k]) => k)).toEqual(['c', 'a', 'd']);
  });

  it('bound a rate limiter flooded with new keys', () => {
    const l = new RateLimiter(1, 5, 1_000);
    for (let i = 0; i < 50_000; i++) l.take(`ip:${i}`);
    expect(l.size).toBe(1_000);
  });
});
