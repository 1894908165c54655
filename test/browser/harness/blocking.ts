/**
 * Ground truth for the tracker-blocking browser tests: the fixture business site's tracker
 * URLs, needed resources and stripping expectations (test/fixtures/trackers.json), compared
 * with the site server's request log by host, path and query (Chromium upgrades some hosts
 * to https by HSTS preload, so the scheme may differ).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { ChromiumSession } from '../../support/chromium';
import type { SiteServer } from '../../support/site-server';
import { root } from '../../support/paths';

export interface FixtureUrl {
  url: string;
  host: string;
  type: string;
  category?: string;
}
export interface Fixture {
  site: string;
  pages: { index: string; clean: string; heavy: string };
  trackers: FixtureUrl[];
  needed: FixtureUrl[];
  heavyTrackers: FixtureUrl[];
  stripped: { how: string; type: string; url: string; path: string; removedParams: string[]; keptParams: Record<string, string> }[];
}

export const fixture = JSON.parse(readFileSync(path.join(root, 'test/fixtures/trackers.json'), 'utf8')) as Fixture;

/** `host/path?query` of a URL, the key requests are compared by. */
export function keyOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}${u.pathname}${u.search}`;
}

export function arrived(site: SiteServer): Set<string> {
  return new Set(site.requests.map((r) => `${r.host}${r.path}${r.query}`));
}

/** Fixture URLs whose request reached the server. */
export function reached(site: SiteServer, list: readonly FixtureUrl[]): string[] {
  const seen = arrived(site);
  return list.map((t) => keyOf(t.url)).filter((k) => seen.has(k));
}

/** Fixture URLs whose request did not reach the server. */
export function missing(site: SiteServer, list: readonly FixtureUrl[]): string[] {
  const seen = arrived(site);
  return list.map((t) => keyOf(t.url)).filter((k) => !seen.has(k));
}

/** The shipped host -> [category, company] lookup of the built extension. */
export function shippedTrackerDb(): { companies: string[]; domains: Record<string, [string, number]> } {
  return JSON.parse(readFileSync(path.join(root, 'dist/chromium/rules/trackers.json'), 'utf8')) as never;
}

/** Resolves once the site server has logged no new request for 400 ms (a page's late requests). */
export async function untilQuiet(site: SiteServer): Promise<void> {
  let last = -1;
  while (site.requests.length !== last) {
    last = site.requests.length;
    await new Promise((r) => setTimeout(r, 400));
  }
}

/** Chromium: opens a page, waits for its load and for the server log to go quiet; the page's tab id. */
export async function visitChromium(browser: ChromiumSession, site: SiteServer, url: string): Promise<{ page: Page; tabId: number }> {
  const page = await browser.ctx.newPage();
  await page.goto(url, { waitUntil: 'load' });
  await untilQuiet(site);
  const sw = await browser.worker();
  // The newest tab with this URL (tab ids grow).
  const tabId = await sw.evaluate(
    async (u) => Math.max(-1, ...(await chrome.tabs.query({})).filter((t) => t.url === u).map((t) => t.id ?? -1)),
    page.url(),
  );
  return { page, tabId };
}
