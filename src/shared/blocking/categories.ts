/**
 * The blocking categories: the one list the policy schema, the message protocol, the stored
 * settings, the background and the rules compiler all use. A category id is also the id and
 * file name of its static ruleset (`rules/analytics.json`, split as `analytics_1`, ...).
 */
import * as v from 'valibot';

export const CATEGORIES = ['ads', 'analytics', 'b2b', 'social', 'urlparams'] as const;
export type Category = (typeof CATEGORIES)[number];

/** Runtime schema of one category id, for every payload or file that names one. */
export const CategorySchema = v.picklist(CATEGORIES);

/**
 * Categories whose rules block requests. `urlparams` only strips tracking parameters (DNR
 * redirects): a request it touched still loads, so it is never counted as blocked.
 */
export const BLOCKING_CATEGORIES: readonly Category[] = CATEGORIES.filter((c) => c !== 'urlparams');

export const DEFAULT_CATEGORIES: Readonly<Record<Category, boolean>> = {
  ads: true,
  analytics: true,
  b2b: true,
  social: true,
  urlparams: true,
};
