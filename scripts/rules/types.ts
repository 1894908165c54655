/**
 * Types shared by the rules compiler, the build and the popup: what `compileRules` returns and
 * what it writes next to the rulesets (`rulesets.json`, `trackers.json`).
 */
import * as v from 'valibot';
import { CATEGORIES, type Category } from '../../src/shared/blocking/categories';
import type { RuleCompanies, TrackerLookup } from '../../src/shared/blocking/compiled';

/** Switchable blocking categories; the ids are ruleset ids and file names. */
export const CATEGORY_IDS = CATEGORIES;
export type CategoryId = Category;
/** The always-on ruleset of business-critical allow rules. */
export const ALLOW_RULESET_ID = 'allow';
export type RulesetId = CategoryId | typeof ALLOW_RULESET_ID;

/** Where a ruleset's rules came from, with licence, for docs and the about page. */
export const SourceInfo = v.strictObject({
  name: v.string(),
  licence: v.string(),
  url: v.string(),
});
export type SourceInfo = v.InferOutput<typeof SourceInfo>;

/** One entry of `rulesets.json`; `file` is relative to the rules output directory. */
export const RulesetInfo = v.strictObject({
  id: v.picklist([...CATEGORY_IDS, ALLOW_RULESET_ID]),
  category: v.picklist([...CATEGORY_IDS, ALLOW_RULESET_ID]),
  file: v.string(),
  enabledByDefault: v.boolean(),
  rules: v.number(),
  regexRules: v.number(),
  /** Host names covered through merged `requestDomains` rules (after dedup). */
  domains: v.number(),
  bytes: v.number(),
  sources: v.array(SourceInfo),
});
export type RulesetInfo = v.InferOutput<typeof RulesetInfo>;

/** A skipped input rule, reported with where it came from (list + rule id or entry index). */
export interface Problem {
  source: string;
  ref: string;
  reason: string;
}

export interface CompiledRulesets {
  outDir: string;
  rulesets: RulesetInfo[];
  trackers: TrackerLookup;
  ruleCompanies: RuleCompanies;
  totals: { rules: number; enabledRules: number; regexRules: number; bytes: number; domains: number };
  problems: Problem[];
  /** Input rules deliberately left out, counted by reason (unsupported action, allowlisted...). */
  skipped: Record<string, number>;
  seconds: number;
}
