/**
 * B2B coverage per vendor, for `npm run bench -- coverage` and its unit test. A vendor's test
 * set is every host the sources attribute to it (the HTTP Archive's third-party entities on the
 * vendor's sites, the cached EasyPrivacy files for Lead Forensics) plus the tag and collector
 * URLs its list entry quotes from the vendor's documentation. Hosts the entry deliberately
 * leaves reachable (`keep`, `leftOut`, the allowlist) are not counted.
 */
import { coveredBy, siteOf } from './hosts';
import type { SourceHosts } from './b2b-sources';
import type { B2bList } from './lists';
import { evaluate, type Ruleset } from './match';

const PAGE = 'https://www.mittelstand-beispiel.de';

export interface VendorCoverage {
  vendor: string;
  key: string;
  total: number;
  blocked: number;
  missed: string[];
}

export const vendorKey = (vendor: string): string =>
  vendor
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');

/** `https://cdn.example.com/<id>.js` quoted in a source text -> a concrete URL. */
export function documentedUrls(source: string): string[] {
  return [...source.matchAll(/https?:\/\/[^\s"'()]+/g)]
    .map((m) => m[0].replace(/[.,;:]+$/, '').replace(/<[^>]*>/g, 'x'))
    .filter((u) => {
      try {
        return new URL(u).hostname.includes('.');
      } catch {
        return false;
      }
    });
}

function blocked(rulesets: readonly Ruleset[], url: string): boolean {
  return (['script', 'image', 'xmlhttprequest'] as const).some(
    (type) => evaluate(rulesets, { url, type, initiator: PAGE })?.rule.action.type === 'block',
  );
}

export function b2bVendorCoverage(
  list: B2bList,
  sources: SourceHosts[],
  rulesets: readonly Ruleset[],
  isAllowlisted: (h: string) => boolean,
): VendorCoverage[] {
  return list.vendors.map((entry) => {
    const sites = new Set(entry.domains.map(siteOf).filter((s) => !isAllowlisted(s)));
    const reachable = new Set([...(entry.keep ?? []), ...(entry.leftOut ?? [])]);
    const urls = new Set(documentedUrls(entry.source));
    // The entry's own URL patterns on a named host (`||host/path`) are documented tag URLs too.
    for (const u of entry.urls) {
      const m = /^\|\|([a-z0-9.-]+)(\/[^*^|]*)/.exec(u);
      if (m) urls.add(`https://${m[1]}${m[2]}`);
    }
    for (const s of sources) {
      const whole = entry.vendor === 'Lead Forensics' && /lead-forensics/.test(s.source);
      for (const h of s.hosts) if (whole || sites.has(siteOf(h))) urls.add(`https://${h}/`);
    }
    const counted = [...urls].filter((u) => {
      const h = new URL(u).hostname;
      return !coveredBy(h, reachable) && !isAllowlisted(h);
    });
    const missed = counted.filter((u) => !blocked(rulesets, u));
    return { vendor: entry.vendor, key: vendorKey(entry.vendor), total: counted.length, blocked: counted.length - missed.length, missed };
  });
}
