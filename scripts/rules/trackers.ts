/**
 * Builds `trackers.json`, the popup's small host -> [category, company] lookup. Only hosts with
 * a known company are listed, and only if a shipped ruleset actually blocks them; the category
 * is the ruleset that blocks the host (b2b first: it is the most specific explanation).
 */
import { coveredBy } from './hosts';
import type { B2bList, CompanyList } from './lists';
import type { TrackerLookup } from '../../src/shared/blocking/compiled';
import type { CategoryId } from './types';

const PREFERENCE: CategoryId[] = ['b2b', 'analytics', 'social', 'ads'];

export function buildTrackerLookup(
  blocked: Partial<Record<CategoryId, ReadonlySet<string>>>,
  companies: CompanyList,
  b2b: B2bList,
): { lookup: TrackerLookup; unblocked: string[] } {
  const names: string[] = [];
  const index = new Map<string, number>();
  const companyIndex = (name: string): number => {
    let i = index.get(name);
    if (i === undefined) {
      i = names.length;
      names.push(name);
      index.set(name, i);
    }
    return i;
  };
  const domains: TrackerLookup['domains'] = {};
  const unblocked: string[] = [];
  const add = (host: string, company: string): void => {
    if (domains[host]) return;
    const category = PREFERENCE.find((c) => {
      const set = blocked[c];
      return set !== undefined && coveredBy(host, set);
    });
    if (!category) {
      unblocked.push(host);
      return;
    }
    domains[host] = [category, companyIndex(company)];
  };
  for (const vendor of b2b.vendors) for (const host of vendor.domains) add(host, vendor.company);
  for (const [company, hosts] of Object.entries(companies.companies)) for (const host of hosts) add(host, company);
  const sorted = Object.fromEntries(Object.entries(domains).sort(([a], [b]) => a.localeCompare(b)));
  return { lookup: { version: 1, companies: names, domains: sorted }, unblocked };
}
