/**
 * The sources the B2B list is kept fresh against, all readable without a network:
 * - the HTTP Archive's third-party entities (`third-party-web`, MIT, npm devDependency);
 * - AdGuard Tracking Protection (`@adguard/dnr-rulesets`, GPL-3.0, npm devDependency);
 * - EasyPrivacy files cached in assets/lists/sources/ (GPL-3.0 / CC-BY-SA 3.0), or a fresh
 *   checkout of github.com/easylist/easylist given with `--easylist DIR`.
 * Each yields host names; a host belongs to the vendor whose list domains share its site.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { adguardDir } from './adguard';
import { entityDomains, readCorpus } from './corpus';
import { coveredBy, isHostName, parentDomains, siteOf } from './hosts';
import type { B2bList } from './lists';

export interface SourceHosts {
  source: string;
  hosts: string[];
}

export const CACHE_DIR = (repoRoot: string): string => path.join(repoRoot, 'assets', 'lists', 'sources');

/** `||host^` lines of an adblock-syntax file (host-level rules only). */
export function adblockHosts(text: string): string[] {
  return [...text.matchAll(/^\|\|([a-z0-9.-]+)\^(?:\$third-party)?$/gm)].map((m) => m[1]!).filter(isHostName);
}

export function easyprivacyHosts(repoRoot: string, easylistDir?: string): SourceHosts[] {
  const dir = easylistDir ? path.join(easylistDir, 'easyprivacy') : CACHE_DIR(repoRoot);
  const label = easylistDir ? `EasyPrivacy checkout ${easylistDir}` : 'EasyPrivacy (cached in assets/lists/sources)';
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.startsWith('easyprivacy') && f.endsWith('.txt'))
    .sort()
    .map((f) => ({ source: `${label}: ${f}`, hosts: adblockHosts(readFileSync(path.join(dir, f), 'utf8')) }));
}

export function corpusHosts(repoRoot: string): SourceHosts {
  const { version, entities } = readCorpus(repoRoot);
  const hosts = entities.flatMap((e) => [...entityDomains(e), ...(e.examples ?? [])]).filter(isHostName);
  return { source: `third-party-web ${version}`, hosts };
}

/** Hosts of plain host rules (`requestDomains`, `||host^`) in AdGuard Tracking Protection. */
export function adguardTrackingHosts(repoRoot: string): SourceHosts {
  const file = path.join(adguardDir(repoRoot), 'declarative', 'ruleset_3', 'ruleset_3.json');
  const rules = JSON.parse(readFileSync(file, 'utf8')) as Array<{
    action: { type: string };
    condition: { requestDomains?: string[]; urlFilter?: string };
  }>;
  const hosts: string[] = [];
  for (const r of rules) {
    if (r.action.type !== 'block') continue;
    hosts.push(...(r.condition.requestDomains ?? []));
    const m = /^\|\|([a-z0-9.-]+)\^$/.exec(r.condition.urlFilter ?? '');
    if (m) hosts.push(m[1]!);
  }
  return { source: 'AdGuard Tracking Protection (filter 3, @adguard/dnr-rulesets)', hosts: hosts.filter(isHostName) };
}

export interface VendorFreshness {
  vendor: string;
  /** Hosts the sources name on the vendor's sites that its list entry does not block. */
  fresh: Array<{ host: string; source: string }>;
  /** List domains that no source names (neither the domain nor a host under it). */
  unconfirmed: string[];
}

/**
 * Compares the list with the sources. A source host is the vendor's when its site (registrable
 * domain) is the site of one of the vendor's list domains; for Lead Forensics' rotating domains
 * the EasyPrivacy file is attributed to the vendor as a whole (its file name says so).
 */
export function compareWithSources(list: B2bList, sources: SourceHosts[], isAllowlisted: (h: string) => boolean): VendorFreshness[] {
  const named = new Set<string>();
  for (const s of sources)
    for (const h of s.hosts) {
      named.add(h);
      for (const p of parentDomains(h)) named.add(p);
    }
  return list.vendors.map((entry) => {
    const domains = new Set(entry.domains);
    const keep = new Set([...(entry.keep ?? []), ...(entry.leftOut ?? [])]);
    // A vendor's CloudFront distribution must not make every CloudFront host its own.
    const sites = new Set(entry.domains.map(siteOf).filter((site) => !isAllowlisted(site)));
    const wholeFile = entry.vendor === 'Lead Forensics' ? /lead-forensics/ : undefined;
    const fresh: VendorFreshness['fresh'] = [];
    const seen = new Set<string>();
    for (const s of sources) {
      const mine = wholeFile?.test(s.source) ?? false;
      for (const host of s.hosts) {
        if (seen.has(host) || !(mine || sites.has(siteOf(host)))) continue;
        if (coveredBy(host, domains) || coveredBy(host, keep) || isAllowlisted(host)) continue;
        if (entry.urls.some((u) => u.startsWith(`||${host}`))) continue;
        seen.add(host);
        fresh.push({ host, source: s.source });
      }
    }
    const unconfirmed = entry.domains.filter((d) => !named.has(d));
    return { vendor: entry.vendor, fresh, unconfirmed };
  });
}
