/**
 * The popup's explanation of a blocked host: which category and which company, from the
 * compiled `rules/trackers.json` (scripts/rules/trackers.ts). The file names only hosts with a
 * known company; a blocked host that is not in it is reported as category `other`.
 */
import * as v from 'valibot';
import type { Category } from '../../shared/blocking/categories';
import { TrackerLookupSchema, type TrackerLookup } from '../../shared/blocking/compiled';

export type TrackerDb = TrackerLookup;

export interface TrackerInfo {
  category: Category;
  company: string | null;
}

export const EMPTY_DB: TrackerDb = { version: 1, companies: [], domains: {} };

/**
 * Looks up the host, then each parent domain, first hit wins (`a.b.tracker.com`,
 * `b.tracker.com`, `tracker.com`). The top-level label alone is never looked up.
 *
 * @example lookupTracker(db, 'region1.google-analytics.com') // { category: 'analytics', company: 'Google' }
 */
export function lookupTracker(db: TrackerDb, host: string): TrackerInfo | null {
  const labels = host.toLowerCase().replace(/\.$/, '').split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    const hit = db.domains[labels.slice(i).join('.')];
    if (hit) return { category: hit[0], company: db.companies[hit[1]] ?? null };
  }
  return null;
}

let loaded: Promise<TrackerDb> | undefined;

/** Loads the shipped lookup once per background lifetime; a damaged file means no labels. */
export function loadTrackerDb(url: string): Promise<TrackerDb> {
  loaded ??= fetch(url)
    .then((r) => r.json())
    .then((json: unknown) => v.parse(TrackerLookupSchema, json))
    .catch((e: unknown) => {
      console.error('[kontor] trackers.json unreadable', e);
      return EMPTY_DB;
    });
  return loaded;
}
