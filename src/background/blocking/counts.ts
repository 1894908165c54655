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

/**
 * How many tracking parameters DNR stripped from a frame's navigation, seen as the difference
 * between the URL it started with and the URL it committed (Chromium's badge counts each strip,
 * one parameter per redirect, as an action). Only when scheme, host and path stayed and no
 * parameter was added or changed: anything else is a redirect by the site, not a strip.
 */
export function strippedParams(before: string, after: string): number {
  let a: URL;
  let b: URL;
  try {
    a = new URL(before);
    b = new URL(after);
  } catch {
    return 0;
  }
  if (a.origin !== b.origin || a.pathname !== b.pathname) return 0;
  const kept = [...b.searchParams];
  const left = [...a.searchParams];
  for (const [k, val] of kept) {
    const i = left.findIndex(([k2, v2]) => k2 === k && v2 === val);
    if (i < 0) return 0;
    left.splice(i, 1);
  }
  return new Set(left.map(([k]) => k)).size;
}
