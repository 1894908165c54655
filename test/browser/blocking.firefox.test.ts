/**
 * Tracker blocking in real Firefox ESR against the fixture business site. Firefox resolves
 * every host to loopback, so the site server listens on 80 and 443. Ground truth is the
 * server's request log. Firefox has no DNR feedback API: Kontor counts webRequest errors.
 */
import type { Kind, Params } from '../../src/shared/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { launchFirefox, type FirefoxSession } from '../support/firefox';
import { fixture, missing, reached, shippedTrackerDb, untilQuiet } from './harness/blocking';
import { waitFor } from '../support/poll';
import { startSiteServer, type SiteServer } from '../support/site-server';
import { lookupTracker } from '../../src/background/blocking/trackers';
import { askFirefox } from '../support/messages';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { distFirefox } from '../support/paths';

type DnrApi = { getEnabledRulesets(): Promise<string[]>; GUARANTEED_MINIMUM_STATIC_RULES: number };
type Ext = { runtime: { sendMessage(m: unknown): Promise<unknown> }; tabs: { query(q: object): Promise<{ id: number; url: string }[]> } };

let site: SiteServer;
let ff: FirefoxSession;
let ui: Page;

const ask = <K extends Kind>(kind: K, params: Params<K>) => askFirefox(ui, kind, params);
async function visit(url: string): Promise<{ page: Page; tabId: number }> {
  const page = await ff.browser.newPage();
  await page.goto(url, { waitUntil: 'load' });
  await untilQuiet(site);
  const tabId = await waitFor(
    () =>
      ui.evaluate(
        async (u) =>
          Math.max(
            -1,
            ...(await (globalThis as unknown as { browser: Ext }).browser.tabs.query({})).filter((t) => t.url === u).map((t) => t.id),
          ),
        url,
      ),
    (id) => id > 0,
    10_000,
    `tab ${url}`,
  );
  return { page, tabId };
}

beforeAll(async () => {
  site = await startSiteServer({ port: 80, extraPorts: [443] });
  ff = await launchFirefox();
  ui = await ff.openExtensionPage('options');
});
afterAll(async () => {
  await ff?.close();
  await site?.close();
});

describe('tracker blocking (Firefox)', () => {
  let page: Page;
  let tabId: number;

  it('blocks every tracker on the business site and lets every needed resource through', async () => {
    site.clear();
    ({ page, tabId } = await visit(fixture.pages.index));
    expect(reached(site, fixture.trackers)).toEqual([]);
    expect(missing(site, fixture.needed)).toEqual([]);
  });

  it('counts exactly the blocked tracker requests, by category, in the popup', async () => {
    await expect.poll(async () => (await ask('blocking.state', { tabId })).total, { timeout: 10_000 }).toBe(fixture.trackers.length);
    const db = shippedTrackerDb() as Parameters<typeof lookupTracker>[0];
    const expected: Record<string, number> = {};
    for (const t of fixture.trackers) {
      const c = lookupTracker(db, t.host)?.category ?? 'other';
      expected[c] = (expected[c] ?? 0) + 1;
    }
    const state = await ask('blocking.state', { tabId });
    expect(Object.fromEntries(state.categories.map((c) => [c.category, c.count]))).toEqual(expected);
    const popup = await ff.openExtensionPage('popup', `?tab=${tabId}`);
    await expect
      .poll(() => popup.$eval('[data-testid="blocking-total"]', (e) => e.getAttribute('data-count')))
      .toBe(String(fixture.trackers.length));
    await popup.close();
  });

  it('strips tracking parameters from the framed page and from a clicked link', async () => {
    const ordered = [...fixture.stripped].sort((a, b) => (a.type === 'main_frame' ? 1 : 0) - (b.type === 'main_frame' ? 1 : 0));
    for (const s of ordered) {
      if (s.type === 'main_frame') {
        site.clear();
        await Promise.all([page.waitForNavigation(), page.click('#tracked-link')]);
      }
      const req = await waitFor(
        async () => site.requestsTo(fixture.site, s.path).at(-1),
        (r) => r !== undefined,
        10_000,
        s.how,
      );
      const query = new URLSearchParams(req!.query);
      for (const p of s.removedParams) expect(query.has(p), `${s.how}: ${p}`).toBe(false);
      for (const [k, val] of Object.entries(s.keptParams)) expect(query.get(k), s.how).toBe(val);
    }
    await page.close();
  });

  it('pausing the site lets its trackers through; resuming blocks them again', async () => {
    await ask('blocking.pause', { site: fixture.site });
    site.clear();
    ({ page, tabId } = await visit(fixture.pages.index));
    expect(missing(site, fixture.trackers)).toEqual([]);
    expect((await ask('blocking.state', { tabId })).paused).toBe(true);
    await page.close();
    await ask('blocking.resume', { site: fixture.site });
    site.clear();
    ({ page, tabId } = await visit(fixture.pages.index));
    expect(reached(site, fixture.trackers)).toEqual([]);
    await page.close();
  });

  it("enables every default ruleset within Firefox's guaranteed 30,000 static rules", async () => {
    const manifest = JSON.parse(readFileSync(path.join(distFirefox, 'manifest.json'), 'utf8')) as {
      declarative_net_request: { rule_resources: { id: string; enabled: boolean; path: string }[] };
    };
    const byDefault = manifest.declarative_net_request.rule_resources.filter((r) => r.enabled);
    const rules = byDefault.reduce((n, r) => n + (JSON.parse(readFileSync(path.join(distFirefox, r.path), 'utf8')) as unknown[]).length, 0);
    const dnr = await ui.evaluate(async () => {
      const api = (globalThis as unknown as { browser: { declarativeNetRequest: DnrApi } }).browser.declarativeNetRequest;
      return { enabled: await api.getEnabledRulesets(), guaranteed: api.GUARANTEED_MINIMUM_STATIC_RULES };
    });
    expect(dnr.guaranteed).toBe(30_000);
    expect(rules).toBeLessThanOrEqual(dnr.guaranteed);
    // Firefox enabled all of them: none was refused for exceeding a limit
    expect([...dnr.enabled].sort()).toEqual(byDefault.map((r) => r.id).sort());
  });
});
