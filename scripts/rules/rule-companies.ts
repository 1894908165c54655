/**
 * Builds `rule-companies.json`: which company a block rule stands for, for Chromium's popup.
 * `declarativeNetRequest.getMatchedRules` reports only `{ rulesetId, ruleId }`, never the URL,
 * so the company must come from the rule itself. Only rules whose every matched host belongs
 * to ONE company are listed (the compiler keeps each known company's merged hosts in rules of
 * their own, see MergeOptions.companyOf); any other blocked rule counts as "other company"
 * within its category. Allow and redirect (parameter-stripping) rules are never listed.
 *
 * Keys are the compiler's ruleset ids (= categories). The build may split a large ruleset into
 * `analytics_1`, `analytics_2`, ... with the rule ids unchanged, so readers look a matched rule
 * up by the category of its ruleset (`rulesets.json`), then by rule id.
 */
import { isSameOrSubdomain, parentDomains } from './hosts';
import type { RuleCompanies } from '../../src/shared/blocking/compiled';
import type { DnrRule } from './schema';

/** `||host^`, `||host/path`, `||host:port`: the host such a urlFilter can only match. */
const HOST_PREFIX = /^\|\|([a-z0-9_.-]+)[\^/:]/;

/**
 * A host -> company function from `{ company: [domain, ...] }`: a host belongs to the company
 * whose listed domain is the host itself or its nearest parent.
 *
 * @example companyResolver({ Google: ['google-analytics.com'] })('region1.google-analytics.com') // 'Google'
 */
export function companyResolver(companies: Readonly<Record<string, readonly string[]>>): (host: string) => string | undefined {
  const owner = new Map<string, string>();
  for (const [company, hosts] of Object.entries(companies)) for (const h of hosts) if (!owner.has(h)) owner.set(h, company);
  return (host) => owner.get(host) ?? [...parentDomains(host)].map((p) => owner.get(p)).find((c) => c !== undefined);
}

/** Hosts a rule can match, or undefined when it is not limited to known hosts. */
function hostsOf(rule: DnrRule): string[] | undefined {
  const c = rule.condition;
  if (c.regexFilter !== undefined) return undefined;
  const fromFilter = c.urlFilter === undefined ? undefined : HOST_PREFIX.exec(c.urlFilter)?.[1];
  if (!c.requestDomains?.length) return fromFilter ? [fromFilter] : undefined;
  if (!fromFilter) return c.requestDomains;
  // A request must satisfy both conditions: keep the more specific host of each overlap.
  return c.requestDomains.flatMap((d) => (isSameOrSubdomain(fromFilter, d) ? [fromFilter] : isSameOrSubdomain(d, fromFilter) ? [d] : []));
}

/** The single company every host of a block rule belongs to, or undefined. */
export function ruleCompany(rule: DnrRule, companyOf: (host: string) => string | undefined): string | undefined {
  if (rule.action.type !== 'block') return undefined;
  const hosts = hostsOf(rule);
  if (!hosts?.length) return undefined;
  const found = new Set(hosts.map(companyOf));
  const [only] = found;
  return found.size === 1 ? only : undefined;
}

const BLOCKS = (r: DnrRule) => r.action.type === 'block';
/** Actions other than block that Chromium counts as "taken" (its badge counts them too). */
const CHANGES = (r: DnrRule) => r.action.type === 'redirect' || r.action.type === 'upgradeScheme'; // modifyHeaders rules are not shipped

/**
 * Renumbers a ruleset's rules: block rules first (ids 1..n), then redirects, then allow rules,
 * order otherwise kept. A matched rule id then says by itself what happened to the request:
 * getMatchedRules also reports allow rules (AdGuard's exceptions) and redirects, which are not
 * blocked requests.
 */
export function blocksFirst(rules: DnrRule[]): DnrRule[] {
  const rank = (r: DnrRule) => (BLOCKS(r) ? 0 : CHANGES(r) ? 1 : 2);
  return rules
    .map((r, i) => ({ r, i }))
    .sort((a, b) => rank(a.r) - rank(b.r) || a.i - b.i)
    .map(({ r }, i) => ({ ...r, id: i + 1 }));
}

export function buildRuleCompanies(
  rulesets: readonly { id: string; rules: readonly DnrRule[] }[],
  companyOf: (host: string) => string | undefined,
): RuleCompanies {
  const companies: string[] = [];
  const index = new Map<string, number>();
  const out: RuleCompanies['rules'] = {};
  const blockRules: RuleCompanies['blockRules'] = {};
  const redirectRules: RuleCompanies['redirectRules'] = {};
  for (const { id, rules } of rulesets) {
    const blocks = (blockRules[id] = rules.filter(BLOCKS).length);
    const changes = (redirectRules[id] = rules.filter(CHANGES).length);
    const inOrder = rules.every(
      (r, i) => r.id === i + 1 && (i < blocks ? BLOCKS(r) : i < blocks + changes ? CHANGES(r) : !BLOCKS(r) && !CHANGES(r)),
    );
    if (!inOrder) throw new Error(`ruleset ${id}: rules must be numbered block, redirect, allow (blocksFirst)`);
    const map: Record<string, number> = {};
    for (const rule of rules) {
      const name = ruleCompany(rule, companyOf);
      if (name === undefined) continue;
      let i = index.get(name);
      if (i === undefined) index.set(name, (i = companies.push(name) - 1));
      map[String(rule.id)] = i;
    }
    if (Object.keys(map).length > 0) out[id] = map;
  }
  return { version: 1, companies, blockRules, redirectRules, rules: out };
}
