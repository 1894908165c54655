/**
 * `npm run lists -- check [--easylist DIR] [--list FILE] [--json]`: keeps Kontor's B2B list
 * fresh. Re-reads the sources (scripts/rules/b2b-sources.ts), reports per vendor the hosts the
 * sources name that the list does not block ("new") and list domains no source names
 * ("unconfirmed"); where DNS answers, also names that no longer exist ("dead") and CNAME chains.
 * Exits 1 when a list host is, or is a CNAME of, a shared CDN (assets/lists/shared-cdns.json):
 * blocking it would break other companies' sites. Everything else is a report for review.
 */
import { Resolver } from 'node:dns/promises';
import path from 'node:path';
import { adguardTrackingHosts, compareWithSources, corpusHosts, easyprivacyHosts } from './rules/b2b-sources';
import { SharedCdns, dnsGuard, staticGuard, wholeHostsOf, type GuardHit } from './rules/cdn-guard';
import { REPO_ROOT } from './rules/compile';
import { Allowlist, B2bList, allowlistPredicate, readList } from './rules/lists';

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

async function check(): Promise<number> {
  const lists = path.join(REPO_ROOT, 'assets', 'lists');
  const listFile = path.resolve(opt('--list') ?? path.join(lists, 'b2b-identification.json'));
  const list = readList(listFile, B2bList);
  const cdns = readList(path.join(lists, 'shared-cdns.json'), SharedCdns);
  const allow = readList(path.join(lists, 'allowlist.json'), Allowlist);
  const easylist = opt('--easylist');
  const sources = [
    corpusHosts(REPO_ROOT),
    adguardTrackingHosts(REPO_ROOT),
    ...easyprivacyHosts(REPO_ROOT, easylist && path.resolve(easylist)),
  ];
  log(`list: ${path.relative(REPO_ROOT, listFile)}, ${list.vendors.length} vendors`);
  for (const s of sources) log(`source: ${s.source} (${s.hosts.length} hosts)`);

  const fresh = compareWithSources(list, sources, allowlistPredicate(allow));
  let newCount = 0,
    unconfirmedCount = 0;
  for (const f of fresh) {
    if (f.fresh.length === 0 && f.unconfirmed.length === 0) continue;
    log(`\n${f.vendor}`);
    for (const n of f.fresh) log(`  new: ${n.host} (${n.source})`);
    if (f.unconfirmed.length) log(`  unconfirmed by any source: ${f.unconfirmed.join(' ')}`);
    newCount += f.fresh.length;
    unconfirmedCount += f.unconfirmed.length;
  }

  const hosts = wholeHostsOf(list);
  const hits: GuardHit[] = staticGuard(list, cdns);
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  const dns = await dnsGuard(hosts, cdns, (h) => resolver.resolveCname(h));
  hits.push(...dns.hits);
  log('');
  if (!dns.available) {
    log(
      'DNS: unavailable here (example.com does not resolve): dead hosts and CNAME chains were NOT checked; the CDN guard checked names only.',
    );
  } else {
    log(
      `DNS: ${hosts.length} hosts resolved; ${dns.dead.length} dead (no such name), ${dns.viaCdn.length} served through a CDN platform under their own name (fine)`,
    );
    for (const d of dns.dead) log(`  dead: ${d}`);
  }
  log(`summary: ${newCount} new hosts, ${unconfirmedCount} list domains unconfirmed by the sources, ${hits.length} shared-CDN hosts`);
  for (const h of hits) log(`  SHARED CDN (${h.vendor}): ${h.reason}`);
  if (args.includes('--json')) {
    process.stdout.write(
      `${JSON.stringify({ vendors: list.vendors.length, new: newCount, unconfirmed: unconfirmedCount, dnsAvailable: dns.available, dead: dns.dead, sharedCdn: hits })}\n`,
    );
  }
  return hits.length > 0 ? 1 : 0;
}

const command = args[0];
if (command === 'check') {
  check().then(
    (code) => process.exit(code),
    (e: unknown) => {
      log(`lists check failed: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(2);
    },
  );
} else {
  log('usage: npm run lists -- check [--easylist DIR] [--list FILE] [--json]');
  process.exit(2);
}
