/**
 * Partner detection in real Chromium with a real policy file, signed manifests served over
 * https on real-looking hostnames, and fixture pages shaped like a partner's site, LinkedIn
 * and XING company pages, a single-page feed, forgeries and lookalikes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchChromium, type ChromiumSession } from '../support/chromium';
import { createOrg, publish, type TestOrg } from '../support/orgs';
import { installChromiumPolicy, type InstalledPolicy } from '../support/policy';
import { waitFor } from '../support/poll';
import { startSiteServer, type SiteServer } from '../support/site-server';
import { askChromium } from '../support/messages';

let site: SiteServer;
let browser: ChromiumSession;
let policy: InstalledPolicy;
let globex: TestOrg, initrode: TestOrg, initrodeRotated: TestOrg, badsig: TestOrg, hooli: TestOrg, hooliRotated: TestOrg;
let hooliServed: () => TestOrg;

const ask = askChromium;

let ui: Page;
async function visit(url: string): Promise<{ page: Page; tabId: number }> {
  const page = await browser.ctx.newPage();
  await page.goto(url);
  const sw = await browser.worker();
  const tabId = await sw.evaluate(async (u) => (await chrome.tabs.query({})).find((t) => t.url === u)?.id ?? -1, page.url());
  return { page, tabId };
}
const tabState = (tabId: number) => ask(ui, 'tab.state', { tabId });
const partners = async () => (await ask(ui, 'partners.list', {})).partners;

beforeAll(async () => {
  const profiles = ['https://www.linkedin.com/company/globex', 'https://www.xing.com/pages/globex/'];
  globex = await createOrg('globex.example', 'Globex GmbH', { profiles });
  initrode = await createOrg('initrode.example', 'Initrode AG');
  initrodeRotated = await createOrg('initrode.example', 'Initrode AG');
  badsig = await createOrg('badsig.example', 'Badsig KG');
  hooli = await createOrg('hooli.example', 'Hooli Inc.', { profiles: ['https://www.linkedin.com/company/hooli'] });
  hooliRotated = await createOrg('hooli.example', 'Hooli Inc.');
  hooliServed = () => hooli;
  site = await startSiteServer();
  publish(site, 'globex.example', () => globex.manifest);
  publish(site, 'initrode.example', () => initrodeRotated.manifest);
  publish(site, 'badsig.example', () => ({ ...badsig.manifest, orgName: 'Badsig KG (tampered)' }));
  publish(site, 'hooli.example', () => hooliServed().manifest);
  policy = installChromiumPolicy({
    partners: [
      { domain: 'globex.example', name: 'Globex GmbH', orgKey: globex.fingerprint.replace(/ /g, '') },
      { domain: 'initrode.example', name: 'Initrode AG', orgKey: initrode.fingerprint.replace(/ /g, '') },
      { domain: 'badsig.example', name: 'Badsig KG' },
    ],
  });
  browser = await launchChromium({ sitePort: site.port });
  ui = await browser.openExtensionPage('options');
  // Known partners' manifests are fetched at start (not because of any visit).
  await waitFor(
    async () => (await partners()).find((p) => p.domain === 'globex.example')?.profiles ?? [],
    (p) => p.includes('linkedin.com/company/globex'),
    30_000,
    'globex manifest',
  );
});
afterAll(async () => {
  await browser?.close();
  policy?.remove();
  await site?.close();
});

describe('partner detection (Chromium)', () => {
  it('recognises a policy partner on its own website, verified, and says so in icon and popup', async () => {
    const { tabId } = await visit('https://www.globex.example/');
    await expect.poll(async () => (await tabState(tabId)).match?.via).toBe('domain');
    const state = await tabState(tabId);
    expect(state.match?.partner).toMatchObject({ domain: 'globex.example', name: 'Globex GmbH', state: 'pinned-policy', keyWarning: null });
    const sw = await browser.worker();
    expect(await sw.evaluate((id) => chrome.action.getTitle({ tabId: id }), tabId)).toBe('Globex GmbH is a partner (verified)');
    const popup = await browser.openExtensionPage('popup', `?tab=${tabId}`);
    await expect.poll(() => popup.getByTestId('partner-card').textContent()).toContain('Globex GmbH is a partner');
    expect(await popup.getByTestId('partner-fingerprint').textContent()).toBe(globex.fingerprint.replace(/ /g, ''));
    expect(await popup.getByTestId('partner-state').getAttribute('data-state')).toBe('pinned-policy');
  });

  it('recognises the LinkedIn and XING pages the partner claims in its signed manifest, in any URL form', async () => {
    for (const url of [
      'https://www.linkedin.com/company/globex/',
      'https://de.linkedin.com/company/Globex?trk=feed',
      'https://www.linkedin.com/de/company/globex/about/',
      'https://www.xing.com/pages/globex',
    ]) {
      const { tabId, page } = await visit(url);
      await expect.poll(async () => (await tabState(tabId)).match?.partner.domain, { message: url }).toBe('globex.example');
      expect((await tabState(tabId)).match?.via).toBe('profile');
      await page.close();
    }
  });

  it('does not recognise a non-partner profile, forged JSON-LD, or lookalike domains', async () => {
    for (const url of [
      'https://www.linkedin.com/company/initech/',
      'https://www.xing.com/pages/initech',
      'https://evil.test/',
      'https://globex-example.com/',
      'https://globex.example.evil.test/',
    ]) {
      const { tabId, page } = await visit(url);
      await expect.poll(async () => (await tabState(tabId)).url, { message: url }).toBe(page.url());
      await page.waitForTimeout(300);
      expect((await tabState(tabId)).match, url).toBeNull();
      const sw = await browser.worker();
      expect(await sw.evaluate((id) => chrome.action.getTitle({ tabId: id }), tabId)).toBe('Kontor');
      await page.close();
    }
  });

  it('marks an unclaimed profile that links to a partner as a hint in the popup, never as verified', async () => {
    const { tabId } = await visit('https://www.linkedin.com/company/globex-fake/');
    const popup = await browser.openExtensionPage('popup', `?tab=${tabId}`);
    await expect
      .poll(() =>
        popup
          .getByTestId('hint')
          .textContent()
          .catch(() => ''),
      )
      .toContain('has not confirmed it as its profile');
    expect((await tabState(tabId)).hint?.domain).toBe('globex.example');
    expect((await tabState(tabId)).match).toBeNull();
    expect(await popup.getByTestId('partner-card').count()).toBe(0);
  });

  it('injects the detector only on partner domains and claimed profile pages', async () => {
    const sw = await browser.worker();
    const scripts = await sw.evaluate(async () => (await chrome.scripting.getRegisteredContentScripts()).flatMap((s) => s.matches ?? []));
    expect(scripts).toEqual(
      expect.arrayContaining([
        '*://globex.example/*',
        '*://*.globex.example/*',
        '*://*.linkedin.com/company/globex*',
        '*://*.xing.com/pages/globex*',
      ]),
    );
    expect(scripts.some((m) => m.includes('initech'))).toBe(false);
    expect(scripts).not.toContain('*://*.linkedin.com/*');
  });

  it('follows in-page navigation of a single-page site, both ways', async () => {
    const { page, tabId } = await visit('https://www.linkedin.com/feed/');
    await expect.poll(async () => (await tabState(tabId)).url).toBe('https://www.linkedin.com/feed/');
    expect((await tabState(tabId)).match).toBeNull();
    await page.click('#to-globex');
    await expect.poll(async () => (await tabState(tabId)).match?.partner.domain).toBe('globex.example');
    await page.click('#to-initech');
    await expect.poll(async () => (await tabState(tabId)).url).toBe('https://www.linkedin.com/company/initech/');
    expect((await tabState(tabId)).match).toBeNull();
    await page.goBack();
    await expect.poll(async () => (await tabState(tabId)).match?.partner.domain).toBe('globex.example');
  });

  it('warns hard when a pinned partner publishes a different key, and blocks contact', async () => {
    await expect
      .poll(async () => (await partners()).find((p) => p.domain === 'initrode.example')?.keyWarning?.seen)
      .toBe(initrodeRotated.fingerprint);
    const { tabId } = await visit('https://www.initrode.example/');
    await expect.poll(async () => (await tabState(tabId)).match?.partner.domain).toBe('initrode.example');
    const popup = await browser.openExtensionPage('popup', `?tab=${tabId}`);
    await expect.poll(() => popup.getByTestId('key-warning').isVisible()).toBe(true);
    expect(await popup.getByTestId('start-contact').isDisabled()).toBe(true);
  });

  it('keeps a partner whose manifest signature is wrong unverified', async () => {
    const p = (await partners()).find((x) => x.domain === 'badsig.example');
    expect(p).toMatchObject({ state: 'unverified', fingerprint: null, manifest: 'missing', profiles: [] });
    const { tabId } = await visit('https://www.badsig.example/');
    await expect.poll(async () => (await tabState(tabId)).match?.partner.state).toBe('unverified');
    const sw = await browser.worker();
    expect(await sw.evaluate((id) => chrome.action.getTitle({ tabId: id }), tabId)).toBe('Badsig KG is a partner (not verified)');
  });

  it('lets the employee add a partner by domain, pins its key on first use, and flags a later key change', async () => {
    const options = await browser.openExtensionPage('options');
    await options.getByTestId('partner-domain-input').fill('hooli.example');
    await options.getByTestId('add-partner').click();
    await expect.poll(() => options.getByTestId('partner-notice').textContent()).toContain(hooli.fingerprint);
    const entry = options.locator('[data-testid=partner-entry][data-domain="hooli.example"]');
    await expect.poll(() => entry.textContent()).toContain('Added by you');
    expect((await partners()).find((p) => p.domain === 'hooli.example')).toMatchObject({
      state: 'pinned-tofu',
      fingerprint: hooli.fingerprint,
      source: 'user',
    });
    // Its claimed profile now counts.
    const { tabId } = await visit('https://www.linkedin.com/company/hooli');
    await expect.poll(async () => (await tabState(tabId)).match?.partner.domain).toBe('hooli.example');
    // The partner rotates its key: hard warning until the employee confirms.
    hooliServed = () => hooliRotated;
    await ask(ui, 'partners.refresh', { domain: 'hooli.example' });
    await options.reload();
    await expect.poll(() => entry.getByTestId('key-warning').isVisible()).toBe(true);
    await entry.getByRole('button', { name: 'I checked it with the partner: trust the new key' }).click();
    await expect.poll(async () => (await partners()).find((p) => p.domain === 'hooli.example')?.fingerprint).toBe(hooliRotated.fingerprint);
    expect((await partners()).find((p) => p.domain === 'hooli.example')?.keyWarning).toBeNull();
  });

  it('refuses to add a lookalike or non-Kontor domain with a clear error', async () => {
    await expect(ask(ui, 'partners.add', { domain: 'www.plain.example' })).rejects.toThrow(/manifest/);
    await expect(ask(ui, 'partners.add', { domain: 'not a domain' })).rejects.toThrow(/invalid_params/);
    await expect(ask(ui, 'partners.remove', { domain: 'globex.example' })).rejects.toThrow(/forbidden/);
  });

  it('offers discovery of a non-partner when the popup opens, without fetching its manifest', async () => {
    site.clear();
    const { tabId } = await visit('https://www.acme-supplier.example/');
    const popup = await browser.openExtensionPage('popup', `?tab=${tabId}`);
    await expect
      .poll(() => popup.getByTestId('discover-result').textContent())
      .toBe('This company accepts private contact through Kontor.');
    expect(site.requests.filter((r) => r.path === '/.well-known/kontor.json')).toEqual([]);
  });

  it('opens the side panel for the partner from "Start private contact"', async () => {
    const { tabId } = await visit('https://www.globex.example/');
    await expect.poll(async () => (await tabState(tabId)).match?.via).toBe('domain');
    const popup = await browser.openExtensionPage('popup', `?tab=${tabId}`);
    await popup.getByTestId('start-contact').click();
    const sw = await browser.worker();
    await expect
      .poll(() =>
        sw.evaluate(async () => (await chrome.runtime.getContexts({ contextTypes: ['SIDE_PANEL' as chrome.runtime.ContextType] })).length),
      )
      .toBe(1);
    const panel = await browser.openExtensionPage('sidepanel');
    await expect.poll(() => panel.getByTestId('contact-partner').textContent()).toContain('Globex GmbH');
  });

  it('starts no Kontor code on ordinary pages, and wakes for a partner page', async () => {
    // Only Kontor's options page stays open (an open popup asks every second).
    for (const p of browser.ctx.pages()) if (p !== ui) await p.close();
    const cdp = await browser.ctx.newCDPSession(ui);
    await cdp.send('ServiceWorker.enable');
    const stopWorker = async () => {
      await cdp.send('ServiceWorker.stopAllWorkers');
      await new Promise((r) => setTimeout(r, 500));
    };
    const startedAt = async () => (await ask(ui, 'app.status', {})).startedAt;
    const before = await startedAt();
    await stopWorker();
    const page = await browser.ctx.newPage();
    // a business site with trackers (DNR blocks them without Kontor code), in-page navigation,
    // another page, and closing the tab
    await page.goto('http://www.business.example/heavy.html', { waitUntil: 'load' });
    await page.evaluate(() => history.pushState({}, '', '/heavy-next'));
    await page.goto('https://www.acme-supplier.example/about', { waitUntil: 'load' });
    await page.close();
    await new Promise((r) => setTimeout(r, 1000));
    const quietUntil = Date.now();
    // Asking wakes the worker now: had anything above woken it, it would still be running
    // with its earlier start time.
    const woken = await startedAt();
    expect(woken).toBeGreaterThan(before);
    expect(woken).toBeGreaterThanOrEqual(quietUntil);
    // A partner's page wakes it, and the page is recognised.
    await stopWorker();
    const partnerPage = await browser.ctx.newPage();
    await partnerPage.goto('https://www.globex.example/', { waitUntil: 'load' });
    const tabId = await browser
      .worker()
      .then((sw) => sw.evaluate(async () => (await chrome.tabs.query({ url: 'https://www.globex.example/*' }))[0]?.id ?? -1));
    await expect.poll(async () => (await tabState(tabId)).match?.partner.domain).toBe('globex.example');
    expect(await startedAt()).toBeLessThan(Date.now());
    await partnerPage.close();
  });
});

describe('partner detection tells the page nothing (Chromium)', () => {
  const pages = [
    'https://www.globex.example/',
    'https://www.linkedin.com/company/globex/',
    'https://www.linkedin.com/company/initech/',
    'https://www.xing.com/pages/globex',
    'https://evil.test/',
  ];

  // Chromium's own services (extension update checks, account probes) call Google hosts at
  // random times: browser traffic, not caused by the page. No fixture uses these hosts.
  const browserOwn = (url: string) => /^https?:\/\/([a-z0-9-]+\.)*(google\.com|googleapis\.com|gvt1\.com)\//.test(url);

  async function observe(session: ChromiumSession, url: string) {
    const page = await session.ctx.newPage();
    await page.goto(url);
    await page.waitForTimeout(700);
    const log = await page.evaluate(() => (window as unknown as { __probeDone: Promise<unknown> }).__probeDone);
    await page.close();
    return log;
  }

  it('records the same DOM, messages and extension probes as a browser without Kontor, and causes no extra request', async () => {
    const plain = await launchChromium({ sitePort: site.port, extensionDir: null });
    try {
      for (const url of pages) {
        site.clear();
        const withKontor = await observe(browser, url);
        const requestsWith = new Set(site.requests.map((r) => r.url).filter((u) => !browserOwn(u)));
        site.clear();
        const without = await observe(plain, url);
        const requestsWithout = new Set(site.requests.map((r) => r.url));
        expect(withKontor, url).toEqual(without);
        expect((withKontor as { probes: Record<string, string> }).probes, url).not.toEqual({});
        for (const r of requestsWith) expect(requestsWithout.has(r), `${url} caused ${r}`).toBe(true);
        expect([...requestsWith].filter((r) => r.includes('kontor.json'))).toEqual([]);
      }
    } finally {
      await plain.close();
    }
  });
});
