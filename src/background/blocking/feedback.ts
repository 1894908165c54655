/**
 * Chromium: a tab's blocked requests from the DNR feedback API instead of request events, so
 * no Kontor code observes any request (docs/blocking.md). The browser keeps the matches per
 * tab; Kontor only remembers when the tab's page started (store.ts) and asks on demand.
 */
import * as v from 'valibot';
import { browser, getMatchedRules } from '../../shared/browser';
import type { BlockingState } from '../../shared/protocol';
import { countRedirects, RuleCompaniesSchema, RulesetListSchema, summarizeMatched, type MatchContext, type RuleCompanies } from './matched';

const EMPTY: RuleCompanies = { version: 1, companies: [], blockRules: {}, redirectRules: {}, rules: {} };

async function loadJson<S extends v.GenericSchema>(file: string, schema: S, fallback: v.InferOutput<S>): Promise<v.InferOutput<S>> {
  try {
    const json: unknown = await (await fetch(browser.runtime.getURL(file))).json();
    return v.parse(schema, json);
  } catch (e) {
    console.error(`[kontor] ${file} unreadable`, e);
    return fallback;
  }
}

let staticContext: Promise<Omit<MatchContext, 'dynamicBlocks'>> | undefined;
/** The shipped rule data, read once per background lifetime. */
function loadStatic(): Promise<Omit<MatchContext, 'dynamicBlocks'>> {
  staticContext ??= Promise.all([
    loadJson('rules/rulesets.json', RulesetListSchema, []),
    loadJson('rules/rule-companies.json', RuleCompaniesSchema, EMPTY),
  ]).then(([rulesets, data]) => ({ categories: new Map(rulesets.map((r) => [r.id, r.category])), data }));
  return staticContext;
}

async function dynamicBlocks(): Promise<Set<number>> {
  const rules = await browser.declarativeNetRequest.getDynamicRules();
  return new Set(rules.filter((r) => r.action.type === 'block').map((r) => r.id));
}

/** Answers within this time reuse the last one: the open popup asks every second. */
const CACHE_MS = 400;
const cache = new Map<string, { at: number; groups: Promise<BlockingState['categories']> }>();

/** Blocked requests of the tab's page that started at `since` (ms), grouped for the popup. */
export function matchedGroups(tabId: number, since: number): Promise<BlockingState['categories']> {
  const key = `${tabId}:${since}`;
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.groups;
  const groups = (async () => {
    const [ctx, blocks, matches] = await Promise.all([loadStatic(), dynamicBlocks(), getMatchedRules(tabId, since)]);
    return summarizeMatched(matches, { ...ctx, dynamicBlocks: blocks });
  })();
  for (const k of cache.keys()) if (k.startsWith(`${tabId}:`)) cache.delete(k);
  cache.set(key, { at: Date.now(), groups });
  groups.catch(() => cache.delete(key));
  return groups;
}

/**
 * Parameter-stripping redirects of the tab's current document, which the browser's badge
 * count includes and Kontor's "blocked" count must not.
 */
export async function redirectsOnPage(tabId: number): Promise<number> {
  const [ctx, matches] = await Promise.all([loadStatic(), getMatchedRules(tabId)]);
  return countRedirects(matches, ctx);
}
