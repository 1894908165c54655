/**
 * Launches real (headless) Firefox ESR over WebDriver BiDi with the built extension
 * installed, every hostname resolved to loopback (port must be in URLs, or serve on 80),
 * and a pinned moz-extension UUID. BiDi will not navigate to moz-extension:// pages, so
 * Kontor's pages are reached through the welcome tab the extension opens itself on first
 * install, and from there with `browser.tabs.create`.
 */
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GECKO_ID } from '../../src/shared/ids';
import { FIREFOX_BIN, distFirefox } from './paths';
import { waitFor } from './poll';

export const FIREFOX_UUID = '7b1d6c2e-4f0a-4b7e-9c55-0d6f6b6b4b01';
export const firefoxOrigin = `moz-extension://${FIREFOX_UUID}/`;

export interface FirefoxOptions {
  locale?: string;
  /** `null` launches Firefox without Kontor (the baseline for privacy comparisons). */
  extensionDir?: string | null;
  prefs?: Record<string, unknown>;
}

export interface FirefoxSession {
  browser: Browser;
  origin: string;
  /** Opens one of Kontor's pages in a new tab (through the extension's own tabs API). */
  openExtensionPage(name: 'popup' | 'sidepanel' | 'options', query?: string): Promise<Page>;
  /** The tabs API's id of the newest tab showing `url`, -1 if none (asked from Kontor's welcome page). */
  tabIdOf(url: string): Promise<number>;
  close(): Promise<void>;
}

type FirefoxTabs = { browser: { tabs: { query(q: object): Promise<{ id?: number; url?: string }[]> } } };

async function waitForPage(browser: Browser, predicate: (url: string) => boolean, timeout = 20_000): Promise<Page> {
  return waitFor(
    async () => {
      for (const page of await browser.pages()) {
        // page.url() can lag behind for extension pages over BiDi; ask the page itself.
        const href = await page.evaluate(() => location.href).catch(() => page.url());
        if (predicate(href)) return page;
      }
      return undefined;
    },
    undefined,
    { timeout, interval: 100, what: 'the page to appear' },
  );
}

export async function launchFirefox(options: FirefoxOptions = {}): Promise<FirefoxSession> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'kontor-firefox-'));
  const prefs: Record<string, unknown> = {
    'network.dns.forceResolve': '127.0.0.1',
    'network.proxy.type': 0,
    'extensions.webextensions.uuids': JSON.stringify({ [GECKO_ID]: FIREFOX_UUID }),
    'extensions.dnr.feedback': true,
    'browser.shell.checkDefaultBrowser': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'toolkit.telemetry.reportingpolicy.firstRun': false,
    'app.update.enabled': false,
    ...(options.locale ? { 'intl.locale.requested': options.locale, 'intl.accept_languages': options.locale } : {}),
    ...options.prefs,
  };
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_BIN,
    headless: true,
    userDataDir: profile,
    extraPrefsFirefox: prefs,
    protocolTimeout: 60_000,
    acceptInsecureCerts: true,
  });
  let welcome: Page | undefined;
  if (options.extensionDir !== null) {
    await browser.installExtension(options.extensionDir ?? distFirefox);
    // The first install opens Kontor's welcome page: our foothold into the extension origin.
    welcome = await waitForPage(browser, (u) => u.startsWith(firefoxOrigin));
  }
  return {
    browser,
    origin: firefoxOrigin,
    async openExtensionPage(name, query = '') {
      const url = `${firefoxOrigin}${name}.html${query}`;
      if (!welcome) throw new Error('Firefox was launched without Kontor');
      await welcome.evaluate((u) => {
        void (globalThis as unknown as { browser: { tabs: { create(o: { url: string }): Promise<unknown> } } }).browser.tabs.create({
          url: u,
        });
      }, url);
      return waitForPage(browser, (u) => u === url);
    },
    async tabIdOf(url) {
      if (!welcome) throw new Error('Firefox was launched without Kontor');
      return welcome.evaluate(async (u) => {
        const tabs = await (globalThis as unknown as FirefoxTabs).browser.tabs.query({});
        return Math.max(-1, ...tabs.filter((t) => t.url === u).map((t) => t.id ?? -1));
      }, url);
    },
    async close() {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
