/**
 * Chromium: a tab's blocked requests from the DNR feedback API instead of request events, so
 * no Kontor code observes any request (docs/blocking.md). The browser keeps the matches per
 * tab for the tab's current document only: on a new document (a reload too), the earlier
 * page's matches move to tab -1 (measured in Chromium 156). So Kontor keeps nothing per tab
 * and asks on demand.
 *
 * getMatchedRules allows 20 calls per 10 minutes per extension, feedback permission or not
 * (MAX_GETMATCHEDRULES_CALLS_PER_INTERVAL; measured here with Chromium 156). So answers are
 * cached per page and asked again only when the badge count (free to read) has changed since,
 * within a local budget below the browser's; beyond it the last answer stands.
 */
import * as v from 'valibot';
import { badgeCount, browser, getMatchedRules } from '../../shared/browser';
import type { BlockingState } from '../../shared/protocol';
import { RuleCompaniesSchema, RulesetListSchema, summarizeMatched, type MatchContext, type RuleCompanies } from './matched';

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

/** Below the browser's 20 per 10 minutes: a restarted worker does not know earlier calls. */
const BUDGET = { calls: 18, windowMs: 10 * 60_000 };
const calls: number[] = [];
function takeCall(now: number): boolean {
  while (calls.length > 0 && now - calls[0]! > BUDGET.windowMs) calls.shift();
  if (calls.length >= BUDGET.calls) return false;
  calls.push(now);
  return true;
}

/** An open popup asks every second; a page that keeps blocking must not spend the budget. */
const MIN_INTERVAL_MS = 3000;

type Groups = BlockingState['categories'];
interface Answer {
  page: string;
  badge: number | null;
  at: number;
  groups: Promise<Groups>;
}
const answers = new Map<number, Answer>();
/** Answers kept for this many tabs at most (no tab-close listener: closing a tab wakes nothing). */
const MAX_ANSWERS = 50;

/**
 * Blocked requests of the page the tab shows (`page`: its URL), grouped for the popup.
 * `fresh` is false when an older answer (or none) had to stand in: the badge count moved on
 * since, and the browser's quota or the minimum interval did not allow asking again.
 */
export async function matchedGroups(tabId: number, page: string): Promise<{ groups: Groups; fresh: boolean }> {
  const badge = await badgeCount(tabId).catch(() => null);
  const last = answers.get(tabId);
  const known = last?.page === page ? last : undefined;
  const now = Date.now();
  if (known && (badge === null || badge === known.badge || now - known.at < MIN_INTERVAL_MS))
    return { groups: await known.groups, fresh: badge === null || badge === known.badge };
  if (!takeCall(now)) return { groups: known ? await known.groups : [], fresh: false };
  const groups = (async () => {
    const [ctx, blocks, matches] = await Promise.all([loadStatic(), dynamicBlocks(), getMatchedRules(tabId)]);
    return summarizeMatched(matches, { ...ctx, dynamicBlocks: blocks });
  })();
  answers.delete(tabId);
  answers.set(tabId, { page, badge, at: now, groups });
  for (const oldest of answers.keys()) {
    if (answers.size <= MAX_ANSWERS) break;
    answers.delete(oldest);
  }
  try {
    return { groups: await groups, fresh: true };
  } catch (e) {
    // Quota spent by an earlier worker, or the tab is gone: keep what was known.
    answers.delete(tabId);
    if (known) answers.set(tabId, known);
    console.warn('[kontor] matched rules unavailable', e);
    return { groups: known ? await known.groups : [], fresh: false };
  }
}
