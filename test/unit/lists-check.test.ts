/**
 * The B2B list's breakage guard (`npm run lists -- check`): no host rule may sit on a shared
 * CDN. Names are checked statically; CNAME chains with a scripted resolver (no network here).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SharedCdns, dnsGuard, sharedCdnReason, staticGuard, wholeHostsOf, type CnameResolver } from '../../scripts/rules/cdn-guard';
import { B2bList, readList } from '../../scripts/rules/lists';

const root = path.resolve(__dirname, '..', '..');
const cdns = readList(path.join(root, 'assets', 'lists', 'shared-cdns.json'), SharedCdns);
const list = readList(path.join(root, 'assets', 'lists', 'b2b-identification.json'), B2bList);
const entry = (domains: string[], urls: string[] = []): B2bList => ({
  version: 1,
  vendors: [
    { vendor: 'Test vendor', company: 'Test', kind: 'b2b-identification', domains, urls, source: 'a test entry for the breakage guard' },
  ],
});

describe('shared-CDN breakage guard', () => {
  it('refuses shared CDN hosts, platforms and their parents', () => {
    for (const host of [
      'cloudfront.net',
      'cdn.jsdelivr.net',
      'jsdelivr.net',
      'cdnjs.cloudflare.com',
      'ajax.googleapis.com',
      'googleapis.com',
      'fonts.gstatic.com',
      'global.ssl.fastly.net',
      'foo.akamaihd.net',
      'x.azureedge.net',
      'd111111abcdef8.cloudfront.net',
      'bucket.s3.amazonaws.com',
      'unpkg.com',
    ]) {
      expect(sharedCdnReason(host, cdns), host).toBeDefined();
    }
  });

  it("accepts vendors' own domains and reviewed dedicated distributions", () => {
    for (const host of [
      'lfeeder.com',
      'snap.licdn.com',
      'www.baw5tracker.com',
      'ddwl4m2hdecbv.cloudfront.net',
      'b2bjsstore.s3.us-west-2.amazonaws.com',
    ]) {
      expect(sharedCdnReason(host, cdns), host).toBeUndefined();
    }
  });

  it('passes on the shipped B2B list', () => {
    expect(staticGuard(list, cdns)).toEqual([]);
  });

  it('checks URL rules that block a whole host, not URL rules with a path', () => {
    expect(wholeHostsOf(entry([], ['||cdn.jsdelivr.net^', '||s3-us-west-2.amazonaws.com/b2bjsstore/'])).map((h) => h.host)).toEqual([
      'cdn.jsdelivr.net',
    ]);
    expect(staticGuard(entry(['tracker.example', 'cdn.jsdelivr.net'], ['||ajax.googleapis.com^']), cdns).map((h) => h.host)).toEqual([
      'cdn.jsdelivr.net',
      'ajax.googleapis.com',
    ]);
  });

  const resolver =
    (names: Record<string, string | 'NXDOMAIN'>): CnameResolver =>
    async (host) => {
      const answer = names[host];
      if (answer === 'NXDOMAIN') throw Object.assign(new Error(host), { code: 'ENOTFOUND' });
      if (answer === undefined) throw Object.assign(new Error(host), { code: 'ENODATA' });
      return [answer];
    };

  it('fails a host that is a CNAME of a shared CDN host, reports CDN-served and dead names', async () => {
    const hosts = [
      { host: 'static.vendor.example', vendor: 'A' },
      { host: 'js.vendor.example', vendor: 'B' },
      { host: 'gone.vendor.example', vendor: 'C' },
      { host: 'plain.vendor.example', vendor: 'D' },
    ];
    const r = await dnsGuard(
      hosts,
      cdns,
      resolver({
        'static.vendor.example': 'alias.vendor.example',
        'alias.vendor.example': 'cdn.jsdelivr.net.',
        'js.vendor.example': 'd2abc.cloudfront.net',
        'gone.vendor.example': 'NXDOMAIN',
      }),
    );
    expect(r.available).toBe(true);
    expect(r.hits.map((h) => h.host)).toEqual(['static.vendor.example']);
    expect(r.viaCdn).toEqual([{ host: 'js.vendor.example', target: 'd2abc.cloudfront.net' }]);
    expect(r.dead).toEqual(['gone.vendor.example']);
  });

  it('says so when DNS does not answer at all, instead of calling every host dead', async () => {
    const r = await dnsGuard(
      [{ host: 'lfeeder.com', vendor: 'A' }],
      cdns,
      resolver({ 'example.com': 'NXDOMAIN', 'lfeeder.com': 'NXDOMAIN' }),
    );
    expect(r).toEqual({ available: false, hits: [], viaCdn: [], dead: [] });
  });

  it('npm run lists -- check exits 1 on a list with a shared CDN host and names it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kontor-lists-'));
    try {
      const file = path.join(dir, 'b2b.json');
      const bad = JSON.parse(readFileSync(path.join(root, 'assets', 'lists', 'b2b-identification.json'), 'utf8')) as B2bList;
      bad.vendors[0]!.domains.push('cdnjs.cloudflare.com');
      writeFileSync(file, JSON.stringify(bad));
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', path.join(root, 'scripts', 'lists.ts'), 'check', '--list', file, '--json'],
        { cwd: root, encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain('SHARED CDN (Leadfeeder (Dealfront)): cdnjs.cloudflare.com is a shared CDN host');
      const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { sharedCdn: unknown[]; vendors: number };
      expect(summary.sharedCdn).toHaveLength(1);
      expect(summary.vendors).toBe(bad.vendors.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
