/**
 * `npm run bench -- coverage`: how much of the web's real tracking Kontor's default rulesets
 * block, measured against a corpus that is not Kontor's: the HTTP Archive's third-party
 * entities (`third-party-web`, MIT; a devDependency, nothing of it ships). Every entity of a
 * tracking category counts, weighted once per entity and once by how many of the HTTP
 * Archive's pages load it (so Google Analytics weighs more than a tracker nobody uses).
 *
 * An entity is blocked when a script, image or XHR request from a business site to one of its
 * example hosts (or, where it lists none, to each of its domains) is blocked by the enabled
 * rulesets of dist/chromium (`hostBlocked` in scripts/rules/corpus.ts, which the unit test
 * uses too). Blocking only other hosts of the vendor (a tracker on c.example.com when the
 * corpus names example.com) counts as `vendor` coverage, reported separately.
 *
 * Categories: `ad`, `analytics`, `marketing` (marketing automation, e-mail tracking), and for
 * information `social` and `customer-success` (chat widgets, which Kontor leaves alone on
 * purpose: a business site's "talk to sales" button must keep working).
 *
 * B2B: `b2b_<vendor>_pct` per vendor of Kontor's B2B list, the share of the vendor's hosts and
 * documented tag URLs that the enabled rulesets block (scripts/rules/b2b-coverage.ts), with
 * `b2b_hosts` and `b2b_blocked_pct` over all vendors; hosts from the corpus and EasyPrivacy.
 *
 * KONTOR_COVERAGE_MISSES=N prints the N most used entities missed per category to stderr
 * (and up to N missed hosts per B2B vendor).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Ruleset } from '../rules/match';
import type { DnrRule } from '../rules/schema';
import { isSameOrSubdomain } from '../rules/hosts';
import { REPO_ROOT } from '../rules/compile';
import { entityDomains, entityHosts, hostBlocked, readCorpus } from '../rules/corpus';
import { b2bVendorCoverage } from '../rules/b2b-coverage';
import { corpusHosts, easyprivacyHosts } from '../rules/b2b-sources';
import { Allowlist, B2bList, allowlistPredicate, readList } from '../rules/lists';

const CATEGORIES = ['ad', 'analytics', 'marketing', 'social', 'customer-success'] as const;
const TARGET = ['ad', 'analytics', 'marketing'];
const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

const dist = path.join(REPO_ROOT, 'dist', 'chromium');
if (!existsSync(path.join(dist, 'manifest.json'))) {
  log('dist/chromium is missing: run npm run build first');
  process.exit(1);
}
const manifest = JSON.parse(readFileSync(path.join(dist, 'manifest.json'), 'utf8')) as {
  declarative_net_request: { rule_resources: { id: string; enabled: boolean; path: string }[] };
};
const rulesets: Ruleset[] = manifest.declarative_net_request.rule_resources
  .filter((r) => r.enabled)
  .map((r) => ({ id: r.id, rules: JSON.parse(readFileSync(path.join(dist, r.path), 'utf8')) as DnrRule[] }));
const blockRules = rulesets.flatMap((r) => r.rules).filter((r) => r.action.type === 'block' || r.action.type === 'redirect');

/** Some blocking rule aims at this domain or a host under it. */
function vendorBlocked(domain: string): boolean {
  return blockRules.some((r) => {
    const c = r.condition;
    if (c.requestDomains?.some((d) => isSameOrSubdomain(d, domain) || isSameOrSubdomain(domain, d))) return true;
    const m = c.urlFilter?.match(/^\|\|([a-z0-9.-]+)/);
    return m !== null && m !== undefined && isSameOrSubdomain(m[1]!, domain);
  });
}

const { version, entities: corpus } = readCorpus(REPO_ROOT);
log(`corpus: third-party-web ${version}, ${corpus.length} entities; rulesets: ${rulesets.map((r) => r.id).join(', ')}`);

const result: Record<string, number | string> = { corpus: `third-party-web ${version}` };
const missesToShow = Number(process.env.KONTOR_COVERAGE_MISSES ?? 0);
let tEntities = 0,
  tBlocked = 0,
  tOcc = 0,
  tOccBlocked = 0,
  tTop = 0,
  tTopBlocked = 0;
for (const category of CATEGORIES) {
  const entities = corpus.filter((e) => e.category === category).sort((a, b) => (b.totalOccurrences ?? 0) - (a.totalOccurrences ?? 0));
  let n = 0,
    hit = 0,
    vendor = 0,
    occ = 0,
    occHit = 0,
    top = 0,
    topHit = 0;
  const misses: string[] = [];
  entities.forEach((e, rank) => {
    const domains = entityDomains(e);
    const hosts = entityHosts(e);
    const isHit = hosts.some((h) => hostBlocked(rulesets, h));
    const weight = e.totalOccurrences ?? 0;
    n++;
    occ += weight;
    if (rank < 100) top++;
    if (isHit) {
      hit++;
      occHit += weight;
      if (rank < 100) topHit++;
    }
    const isVendor = isHit || domains.some(vendorBlocked);
    if (isVendor) vendor++;
    if (!isHit && misses.length < missesToShow)
      misses.push(`${e.name} (${weight} pages${isVendor ? ', other hosts of the vendor blocked' : ''}): ${hosts.slice(0, 4).join(' ')}`);
  });
  result[`${category}_entities`] = n;
  result[`${category}_blocked_pct`] = Math.round((1000 * hit) / n) / 10;
  result[`${category}_top100_blocked_pct`] = Math.round((1000 * topHit) / Math.max(1, top)) / 10;
  result[`${category}_vendor_pct`] = Math.round((1000 * vendor) / n) / 10;
  result[`${category}_by_pages_pct`] = Math.round((1000 * occHit) / Math.max(1, occ)) / 10;
  log(
    `${category}: ${hit}/${n} entities blocked (${result[`${category}_blocked_pct`]}%), top 100 ${topHit}/${top}, some host of the vendor ${vendor}/${n}, weighted by pages ${result[`${category}_by_pages_pct`]}%`,
  );
  for (const m of misses) log(`  missed: ${m}`);
  if (TARGET.includes(category)) {
    tEntities += n;
    tBlocked += hit;
    tOcc += occ;
    tOccBlocked += occHit;
    tTop += top;
    tTopBlocked += topHit;
  }
}
const lists = path.join(REPO_ROOT, 'assets', 'lists');
const b2bList = readList(path.join(lists, 'b2b-identification.json'), B2bList);
const isAllowlisted = allowlistPredicate(readList(path.join(lists, 'allowlist.json'), Allowlist));
const b2b = b2bVendorCoverage(b2bList, [corpusHosts(REPO_ROOT), ...easyprivacyHosts(REPO_ROOT)], rulesets, isAllowlisted);
const b2bTotal = b2b.reduce((n, v) => n + v.total, 0);
const b2bBlocked = b2b.reduce((n, v) => n + v.blocked, 0);
result.b2b_vendors = b2b.length;
result.b2b_hosts = b2bTotal;
result.b2b_blocked_pct = Math.round((1000 * b2bBlocked) / Math.max(1, b2bTotal)) / 10;
log(`b2b: ${b2bBlocked}/${b2bTotal} vendor hosts and tag URLs blocked (${result.b2b_blocked_pct}%) over ${b2b.length} vendors`);
for (const v of b2b) {
  result[`b2b_${v.key}_pct`] = v.total ? Math.round((1000 * v.blocked) / v.total) / 10 : 'no test hosts';
  if (v.blocked < v.total)
    log(`  ${v.vendor}: ${v.blocked}/${v.total}${missesToShow ? `, missed ${v.missed.slice(0, missesToShow).join(' ')}` : ''}`);
}
result.tracking_blocked_pct = Math.round((1000 * tBlocked) / tEntities) / 10;
result.tracking_top_blocked_pct = Math.round((1000 * tTopBlocked) / tTop) / 10;
result.tracking_by_pages_pct = Math.round((1000 * tOccBlocked) / tOcc) / 10;
process.stdout.write(JSON.stringify(result) + '\n');
