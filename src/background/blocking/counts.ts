/**
 * Per-tab record of blocked requests (pure). The background keeps one record per tab in
 * storage.session, resets it when the tab's top-level page changes, and groups it for the
 * popup by category and company.
 */
import type { BlockingState } from '../../shared/protocol';
import { hostMatchesDomain } from '../../shared/policy/domain';
import { lookupTracker, type TrackerDb } from './trackers';

export interface TabRecord {
  /** Host of the top-level page the counts belong to. */
  site: string | null;
  /** Event time (ms) of the navigation that started this page; older events are ignored. */
  since: number;
  total: number;
  /** Blocked requests per request host. */
  hosts: Record<string, number>;
  /** Chromium: redirects already taken off the browser's badge count for this page. */
  uncounted?: number;
}

/** Caps the host map so a page that requests thousands of random hosts cannot bloat storage. */
export const MAX_HOSTS = 500;
const OVERFLOW_HOST = '(more)';

export function emptyRecord(site: string | null, since: number): TabRecord {
  return { site, since, total: 0, hosts: {} };
}

/** Adds one blocked request; returns the same record if the event predates the page. */
export function addBlocked(record: TabRecord, host: string, at: number): TabRecord {
  if (at < record.since) return record;
  const hosts = { ...record.hosts };
  const key = host in hosts || Object.keys(hosts).length < MAX_HOSTS ? host : OVERFLOW_HOST;
  hosts[key] = (hosts[key] ?? 0) + 1;
  return { ...record, total: record.total + 1, hosts };
}

type Group = BlockingState['categories'][number];

/** Groups a record by category (largest first) and, inside, by company (largest first). */
export function summarize(record: TabRecord, db: TrackerDb): Group[] {
  const groups = new Map<Group['category'], Map<string | null, { count: number; hosts: string[] }>>();
  for (const [host, count] of Object.entries(record.hosts)) {
    const info = lookupTracker(db, host);
    const category = info?.category ?? 'other';
    const companies = groups.get(category) ?? new Map<string | null, { count: number; hosts: string[] }>();
    groups.set(category, companies);
    const entry = companies.get(info?.company ?? null) ?? { count: 0, hosts: [] };
    entry.count += count;
    entry.hosts.push(host);
    companies.set(info?.company ?? null, entry);
  }
  const byCount = (a: { count: number }, b: { count: number }) => b.count - a.count;
  return [...groups.entries()]
    .map(([category, companies]) => {
      const list = [...companies.entries()]
        .map(([name, e]) => ({ name, count: e.count, hosts: e.hosts.sort() }))
        // Named companies first (by count), then the unnamed remainder.
        .sort((a, b) => (a.name === null ? 1 : 0) - (b.name === null ? 1 : 0) || byCount(a, b));
      return { category, count: list.reduce((n, c) => n + c.count, 0), companies: list };
    })
    .sort((a, b) => (a.category === 'other' ? 1 : 0) - (b.category === 'other' ? 1 : 0) || byCount(a, b));
}

/** Badge text for a count: empty for none, `999+` beyond three digits. */
export function badgeText(total: number): string {
  if (total <= 0) return '';
  return total > 999 ? '999+' : String(total);
}

/** A site is paused if it or one of its parent domains was paused (the rule matches so). */
export function isPausedIn(paused: readonly string[], site: string | null): boolean {
  return site !== null && paused.some((p) => hostMatchesDomain(site, p));
}
