/**
 * Chromium's per-tab counts from DNR feedback (pure). `getMatchedRules` names only the ruleset
 * and rule of each request DNR acted on, never the URL: the category comes from the ruleset
 * (`rules/rulesets.json`), the company from `rules/rule-companies.json` where the compiler
 * could tie the rule to one company (scripts/rules/rule-companies.ts); the rest of a category
 * is shown as "company unknown". Allow rules (Kontor's allowlist, list exceptions, a paused
 * site) and parameter-stripping redirects are not blocked requests and are not counted.
 */
import * as v from 'valibot';
import { BLOCKING_CATEGORIES } from '../../shared/blocking/categories';
import type { RuleCompanies } from '../../shared/blocking/compiled';
import type { BlockingState } from '../../shared/protocol';

export { RuleCompaniesSchema, type RuleCompanies } from '../../shared/blocking/compiled';

/** The parts of `rulesets.json` the background reads. */
export const RulesetListSchema = v.array(v.object({ id: v.string(), category: v.string() }));

/** Everything needed to explain a matched rule. */
export interface MatchContext {
  /** Shipped ruleset id (`analytics_2`) -> category (`analytics`); split rulesets keep rule ids. */
  categories: ReadonlyMap<string, string>;
  data: RuleCompanies;
  /** Ids of Kontor's dynamic rules that block (the policy's blockDomains). */
  dynamicBlocks: ReadonlySet<number>;
}

/** DNR's id for rules added with updateDynamicRules. */
export const DYNAMIC_RULESET = '_dynamic';
const CATEGORIES: ReadonlySet<string> = new Set(BLOCKING_CATEGORIES);

type Group = BlockingState['categories'][number];
type Category = Group['category'];

/** Category and company of a matched rule, or null when the rule did not block. */
export function explainMatch(
  m: { rulesetId: string; ruleId: number },
  ctx: MatchContext,
): { category: Category; company: string | null } | null {
  if (m.rulesetId === DYNAMIC_RULESET) return ctx.dynamicBlocks.has(m.ruleId) ? { category: 'other', company: null } : null;
  const category = ctx.categories.get(m.rulesetId);
  if (category === undefined || !CATEGORIES.has(category)) return null;
  if (m.ruleId > (ctx.data.blockRules[category] ?? 0)) return null;
  const index = ctx.data.rules[category]?.[String(m.ruleId)];
  return { category: category as Category, company: index === undefined ? null : (ctx.data.companies[index] ?? null) };
}

/** Groups matched rules by category (largest first) and company (named first, by count). */
export function summarizeMatched(matches: readonly { rulesetId: string; ruleId: number }[], ctx: MatchContext): Group[] {
  const groups = new Map<Category, Map<string | null, number>>();
  for (const m of matches) {
    const hit = explainMatch(m, ctx);
    if (!hit) continue;
    const companies = groups.get(hit.category) ?? new Map<string | null, number>();
    groups.set(hit.category, companies);
    companies.set(hit.company, (companies.get(hit.company) ?? 0) + 1);
  }
  const byCount = (a: { count: number }, b: { count: number }) => b.count - a.count;
  return [...groups.entries()]
    .map(([category, companies]) => {
      const list = [...companies.entries()]
        .map(([name, count]) => ({ name, count, hosts: [] as string[] }))
        .sort(
          (a, b) => (a.name === null ? 1 : 0) - (b.name === null ? 1 : 0) || byCount(a, b) || (a.name ?? '').localeCompare(b.name ?? ''),
        );
      return { category, count: list.reduce((n, c) => n + c.count, 0), companies: list };
    })
    .sort((a, b) => (a.category === 'other' ? 1 : 0) - (b.category === 'other' ? 1 : 0) || byCount(a, b));
}
