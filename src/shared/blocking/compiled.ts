/**
 * Schemas of the files the rules compiler writes next to the rulesets and the background
 * reads back (`rules/trackers.json`, `rules/rule-companies.json`): one schema each, so the
 * writer and the reader cannot disagree.
 */
import * as v from 'valibot';
import { CategorySchema } from './categories';

const Index = v.pipe(v.number(), v.integer(), v.minValue(0));

/**
 * `trackers.json`: names the category and company behind a blocked host. Look a host up by
 * walking its suffixes (`a.b.example.com`, `b.example.com`, `example.com`): the first hit wins.
 * Each entry is `[category, companyIndex]`; only hosts with a known company are listed.
 */
export const TrackerLookupSchema = v.strictObject({
  version: v.literal(1),
  companies: v.array(v.string()),
  domains: v.record(v.string(), v.tuple([CategorySchema, Index])),
});
export type TrackerLookup = v.InferOutput<typeof TrackerLookupSchema>;

/**
 * `rule-companies.json`: which company a block rule stands for (Chromium's getMatchedRules names
 * only ruleset and rule). Keys are category ids; see scripts/rules/rule-companies.ts.
 */
export const RuleCompaniesSchema = v.strictObject({
  version: v.literal(1),
  companies: v.array(v.string()),
  /** `{ [category]: n }`: rules 1..n of the ruleset block. */
  blockRules: v.record(v.string(), Index),
  /** `{ [category]: m }`: rules n+1..n+m redirect (parameter stripping); higher ids allow. */
  redirectRules: v.record(v.string(), Index),
  /** `{ [category]: { [ruleId]: companyIndex } }` */
  rules: v.record(v.string(), v.record(v.string(), Index)),
});
export type RuleCompanies = v.InferOutput<typeof RuleCompaniesSchema>;
