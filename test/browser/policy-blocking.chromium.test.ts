/**
 * Blocking under an enterprise policy in real Chromium (policy file installed for the run,
 * removed after): locked blocking cannot be paused (message and UI both refuse), an extra
 * blockDomain is blocked, an allowDomain tracker gets through, and a category the policy
 * switches off lets its trackers through.
 */
import type { Kind, Params } from '../../src/shared/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchChromium, type ChromiumSession } from '../support/chromium';
import { fixture, reached, visitChromium } from './harness/blocking';
import { installChromiumPolicy, type InstalledPolicy } from '../support/policy';
import { waitFor } from '../support/poll';
import { startSiteServer, type SiteServer } from '../support/site-server';
import { sendChromium } from '../support/messages';

let site: SiteServer;
let browser: ChromiumSession;
let policy: InstalledPolicy;
let ui: Page;
const EXTRA = 'collect.extra-vendor.example';
const ALLOWED = 'hotjar.com';

const askRaw = <K extends Kind>(kind: K, params: Params<K>) => sendChromium(ui, kind, params);
const visit = (url: string) => visitChromium(browser, site, url);

beforeAll(async () => {
  site = await startSiteServer();
  site.route(fixture.site, '/extra.html', () => ({
    type: 'text/html',
    body: `<!doctype html><title>extra</title><script src="http://${EXTRA}/pixel.js"></script><img src="http://www.business.example/img/ok.gif">`,
  }));
  policy = installChromiumPolicy({
    blocking: { locked: true, categories: { social: false }, blockDomains: ['extra-vendor.example'], allowDomains: [ALLOWED] },
  });
  browser = await launchChromium({ sitePort: site.port });
  ui = await browser.openExtensionPage('options');
  // Chromium answers managed storage only some seconds after a cold start.
  await waitFor(
    async () => {
      const r = await askRaw('blocking.settings', {});
      return r.ok ? r.result : null;
    },
    (s) => s?.pauseLocked === true,
    60_000,
    'policy applied',
  );
  const sw = await browser.worker();
  await waitFor(
    () =>
      sw.evaluate(async () => ({
        rulesets: await chrome.declarativeNetRequest.getEnabledRulesets(),
        dynamic: (await chrome.declarativeNetRequest.getDynamicRules()).length,
      })),
    (x) => !x.rulesets.includes('social') && x.dynamic === 2,
    30_000,
    'rules applied',
  );
});
afterAll(async () => {
  await browser?.close();
  policy?.remove();
  await site?.close();
});

describe('blocking under policy (Chromium)', () => {
  it('refuses to pause locked blocking in the message and shows the control disabled', async () => {
    const r = await askRaw('blocking.pause', { site: fixture.site });
    expect(r).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const r2 = await askRaw('blocking.setCategory', { category: 'ads', enabled: false });
    expect(r2).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const { tabId, page } = await visit(fixture.pages.index);
    const popup = await browser.openExtensionPage('popup', `?tab=${tabId}`);
    await expect.poll(() => popup.getByTestId('blocking-toggle').isDisabled()).toBe(true);
    expect(await popup.getByTestId('blocking-locked').textContent()).toBe('Set by your organisation');
    const options = await browser.openExtensionPage('options');
    await expect.poll(() => options.getByTestId('category-ads').isDisabled()).toBe(true);
    expect(await options.getByTestId('category-social').isChecked()).toBe(false);
    expect(await options.getByTestId('pause-locked').textContent()).toContain('Set by your organisation');
    await Promise.all([popup.close(), options.close(), page.close()]);
  });

  it('blocks an extra blockDomain, lets an allowDomain tracker and the switched-off category through', async () => {
    site.clear();
    const { page, tabId } = await visit(`http://${fixture.site}/extra.html`);
    expect(site.requestsTo('www.business.example', '/img/ok.gif').length).toBe(1);
    expect(site.requestsTo(EXTRA)).toEqual([]);
    // The policy's dynamic block rule counts, as a request of no known category.
    await expect
      .poll(async () => {
        const r = await askRaw('blocking.state', { tabId });
        return r.ok ? r.result.categories : r.error;
      })
      .toEqual([{ category: 'other', count: 1, companies: [{ name: null, count: 1, hosts: [] }] }]);
    await page.close();

    site.clear();
    const { page: index } = await visit(fixture.pages.index);
    const allowed = fixture.trackers.filter((t) => t.host === ALLOWED || t.host.endsWith(`.${ALLOWED}`));
    expect(allowed.length).toBeGreaterThan(0);
    expect(reached(site, allowed).length).toBe(allowed.length);
    const social = fixture.trackers.filter((t) => t.category === 'social');
    expect(reached(site, social).length).toBeGreaterThan(0);
    // Everything else is still blocked.
    const rest = fixture.trackers.filter((t) => t.category !== 'social' && !allowed.includes(t));
    expect(reached(site, rest)).toEqual([]);
    await index.close();
  });
});
