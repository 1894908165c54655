import { describe, expect, it } from 'vitest';
import { buildIndex } from '../../src/background/partners/matcher';
import { normalizeProfileUrl } from '../../src/background/partners/profiles';
import type { PartnerView } from '../../src/shared/protocol';

const partner = (domain: string, profiles: string[] = []): PartnerView => ({
  domain,
  name: domain,
  source: 'policy',
  state: 'pinned-policy',
  fingerprint: 'ab',
  profiles,
  contacts: [],
  gatewayUrl: null,
  keyWarning: null,
  manifest: 'valid',
});

describe('profile URL normalisation', () => {
  it.each([
    ['https://www.linkedin.com/company/globex', 'linkedin.com/company/globex'],
    ['http://linkedin.com/company/Globex/', 'linkedin.com/company/globex'],
    ['https://de.linkedin.com/company/globex?trk=abc#x', 'linkedin.com/company/globex'],
    ['https://www.linkedin.com/de/company/globex/about/', 'linkedin.com/company/globex'],
    ['https://www.linkedin.com/en-us/company/globex', 'linkedin.com/company/globex'],
    ['https://www.xing.com/pages/globex', 'xing.com/pages/globex'],
    ['https://www.xing.com/companies/globexgmbh/', 'xing.com/companies/globexgmbh'],
  ])('%s -> %s', (input, out) => expect(normalizeProfileUrl(input)).toBe(out));

  it.each([
    'https://www.linkedin.com/in/alice',
    'https://www.linkedin.com/feed/',
    'https://linkedin.com.evil.test/company/globex',
    'https://evil-linkedin.com/company/globex',
    'ftp://www.linkedin.com/company/globex',
    'not a url',
  ])('rejects %s', (input) => expect(normalizeProfileUrl(input)).toBeNull());
});

describe('partner index', () => {
  const index = buildIndex([partner('globex.example', ['linkedin.com/company/globex']), partner('acme.co.uk')]);
  it('names the domains whose navigations wake detection: partners and the profile hosts', () => {
    expect(index.domains.sort()).toEqual(['acme.co.uk', 'globex.example', 'linkedin.com', 'xing.com']);
    expect(buildIndex([]).domains.sort()).toEqual(['linkedin.com', 'xing.com']);
  });
  it('matches the domain and its subdomains', () => {
    expect(index.match('https://globex.example/')?.via).toBe('domain');
    expect(index.match('https://www.globex.example/products?x=1')?.partner.domain).toBe('globex.example');
    expect(index.match('http://shop.eu.globex.example:8443/')?.partner.domain).toBe('globex.example');
    expect(index.match('https://www.acme.co.uk/')?.partner.domain).toBe('acme.co.uk');
  });
  it('never matches lookalikes', () => {
    for (const url of [
      'https://globex-example.com/',
      'https://globex.example.evil.test/',
      'https://myglobex.example/',
      'https://globex.examples/',
      'https://example/',
      'https://co.uk/',
    ]) {
      expect(index.match(url), url).toBeNull();
    }
  });
  it('matches claimed profiles only, in any URL form', () => {
    expect(index.match('https://de.linkedin.com/company/globex/?trk=1')).toMatchObject({ via: 'profile' });
    expect(index.match('https://www.linkedin.com/company/initech/')).toBeNull();
  });
  it('gives the detector patterns for partner domains and claimed profile pages only', () => {
    expect(index.patterns).toEqual([
      '*://globex.example/*',
      '*://*.globex.example/*',
      '*://acme.co.uk/*',
      '*://*.acme.co.uk/*',
      '*://*.linkedin.com/company/globex*',
      '*://*.linkedin.com/*/company/globex*',
    ]);
  });
});
