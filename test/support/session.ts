/**
 * One session interface for both browsers, so one spec runs in Chromium and Firefox:
 *
 * @example
 * for (const name of BROWSERS) describe(`policy (${name})`, () => {
 *   let site: SiteServer; let b: BrowserSession;
 *   beforeAll(async () => { site = await startSiteFor(name); b = await launchBrowser(name, site); });
 *   it('…', async () => { const ui = await b.openExtensionPage('options'); expect(await ui.text('policy-problems')).toContain('x'); });
 * });
 *
 * Elements are found by `data-testid`. Reads (`text`, `value`, `disabled`) do not wait: wrap
 * them in `expect.poll`. The launchers stay available (`chromium`, `firefox`) for steps only
 * one browser can take (Chromium's service worker, CDP).
 */
import type { Page as ChromiumPage } from 'playwright-core';
import type { Page as FirefoxPage } from 'puppeteer-core';
import type { Kind, Params, Reply, Results } from '../../src/shared/protocol';
import { type ChromiumSession, launchChromium } from './chromium';
import { type FirefoxSession, launchFirefox } from './firefox';
import { sendChromium, sendFirefox, unwrap } from './messages';
import { type InstalledPolicy, installChromiumPolicy, installFirefoxPolicy } from './policy';
import { type SiteServer, startSiteServer } from './site-server';

export type BrowserName = 'chromium' | 'firefox';
export const BROWSERS: readonly BrowserName[] = ['chromium', 'firefox'];
export type ExtensionPageName = 'popup' | 'sidepanel' | 'options';

/** One of Kontor's own pages. */
export interface KontorPage {
  /** textContent of the first element with this data-testid; '' while there is none */
  text(testId: string): Promise<string>;
  /** value of the input with this data-testid; '' while there is none */
  value(testId: string): Promise<string>;
  disabled(testId: string): Promise<boolean>;
  /** Replaces an input's text by typing it (waits for the input). */
  fill(testId: string, text: string): Promise<void>;
  /** Clicks the element (waits for it). */
  click(testId: string): Promise<void>;
  send<K extends Kind>(kind: K, params: Params<K>): Promise<Reply<K>>;
  ask<K extends Kind>(kind: K, params: Params<K>): Promise<Results[K]>;
}

export interface BrowserSession {
  name: BrowserName;
  openExtensionPage(name: ExtensionPageName, query?: string): Promise<KontorPage>;
  /** Opens `url` in a new tab and waits for its load; the tab's id in the tabs API. */
  openTab(url: string): Promise<number>;
  close(): Promise<void>;
  /** the browser's own session, for browser-specific steps */
  chromium?: ChromiumSession;
  firefox?: FirefoxSession;
}

const sel = (testId: string) => `[data-testid="${testId}"]`;

type What = 'text' | 'value' | 'disabled';

/** Runs inside the page (both browsers): `what` of the first element with `testId`. Self-contained, it is sent as source. */
function read([testId, what]: readonly [string, What]): string | boolean {
  const e = document.querySelector(`[data-testid="${testId}"]`) as HTMLInputElement | null;
  if (what === 'disabled') return e?.disabled ?? false;
  return (what === 'text' ? e?.textContent : e?.value) ?? '';
}

function chromiumPage(page: ChromiumPage): KontorPage {
  const get = (id: string, what: What) => page.evaluate(read, [id, what] as const);
  return {
    text: async (id) => String(await get(id, 'text')),
    value: async (id) => String(await get(id, 'value')),
    disabled: async (id) => (await get(id, 'disabled')) === true,
    fill: (id, text) => page.locator(sel(id)).first().fill(text),
    click: (id) => page.locator(sel(id)).first().click(),
    send: (kind, params) => sendChromium(page, kind, params),
    ask: async (kind, params) => unwrap(kind, await sendChromium(page, kind, params)),
  };
}

function firefoxPage(page: FirefoxPage): KontorPage {
  const get = (id: string, what: What) => page.evaluate(read, [id, what] as const);
  return {
    text: async (id) => String(await get(id, 'text')),
    value: async (id) => String(await get(id, 'value')),
    disabled: async (id) => (await get(id, 'disabled')) === true,
    async fill(id, text) {
      await page.waitForSelector(sel(id));
      await page.$eval(sel(id), (e) => {
        (e as HTMLInputElement).value = '';
      });
      await page.type(sel(id), text);
    },
    async click(id) {
      await page.waitForSelector(sel(id));
      await page.click(sel(id));
    },
    send: (kind, params) => sendFirefox(page, kind, params),
    ask: async (kind, params) => unwrap(kind, await sendFirefox(page, kind, params)),
  };
}

/**
 * The site server a browser can reach: Chromium maps every host to any port (host-resolver
 * rules); Firefox resolves every host to 127.0.0.1 but keeps the URL's port, so it needs 80 and 443.
 */
export function startSiteFor(name: BrowserName): Promise<SiteServer> {
  return name === 'firefox' ? startSiteServer({ port: 80, extraPorts: [443] }) : startSiteServer();
}

/** Installs `policy` where this browser reads managed policy (before launch; Firefox reads it only then). */
export function installPolicy(name: BrowserName, policy: unknown): InstalledPolicy {
  return name === 'firefox' ? installFirefoxPolicy(policy) : installChromiumPolicy(policy);
}

export async function launchBrowser(name: BrowserName, site: SiteServer, o: { locale?: string } = {}): Promise<BrowserSession> {
  if (name === 'chromium') {
    const chromium = await launchChromium({ sitePort: site.port, ...o });
    return {
      name,
      chromium,
      openExtensionPage: async (page, query) => chromiumPage(await chromium.openExtensionPage(page, query)),
      async openTab(url) {
        const page = await chromium.ctx.newPage();
        await page.goto(url, { waitUntil: 'load' });
        const sw = await chromium.worker();
        // The newest tab with this URL (tab ids grow).
        return sw.evaluate(
          async (u) => Math.max(-1, ...(await chrome.tabs.query({})).filter((t) => t.url === u).map((t) => t.id ?? -1)),
          page.url(),
        );
      },
      close: () => chromium.close(),
    };
  }
  const firefox = await launchFirefox(o);
  return {
    name,
    firefox,
    openExtensionPage: async (page, query) => firefoxPage(await firefox.openExtensionPage(page, query)),
    async openTab(url) {
      const page = await firefox.browser.newPage();
      await page.goto(url, { waitUntil: 'load' });
      return firefox.tabIdOf(page.url());
    },
    close: () => firefox.close(),
  };
}
