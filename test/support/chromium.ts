/**
 * Launches real (headless) Chromium with the built extension in a fresh profile, every
 * hostname mapped to the local site server, and gives tests the background service worker
 * and Kontor's pages. See ../shared/BROWSER-TESTING.md for why each flag is here.
 */
import { chromium, type BrowserContext, type Page, type Worker } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM_EXTENSION_ID } from '../../src/shared/ids';
import { CHROMIUM_BIN, distChromium } from './paths';

export interface ChromiumOptions {
  /** Port of the site server every hostname resolves to. */
  sitePort?: number;
  /** UI language, e.g. 'de'. */
  locale?: string;
  /** Reuse a profile directory (for restart tests); a fresh temp dir otherwise. */
  userDataDir?: string;
  /** `null` launches Chromium without Kontor (the baseline for privacy comparisons). */
  extensionDir?: string | null;
  headless?: boolean;
}

export interface ChromiumSession {
  ctx: BrowserContext;
  extensionId: string;
  userDataDir: string;
  /** The background service worker (waits for it if it restarted). */
  worker(): Promise<Worker>;
  /** Opens popup.html, sidepanel.html or options.html of Kontor as a tab. */
  openExtensionPage(name: 'popup' | 'sidepanel' | 'options', query?: string): Promise<Page>;
  /** Console errors and page errors seen in Kontor's own pages and worker. */
  errors: string[];
  close(options?: { keepProfile?: boolean }): Promise<void>;
}

function hasServiceWorker(dir: string): boolean {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { background?: { service_worker?: string } };
  return Boolean(manifest.background?.service_worker);
}

export async function launchChromium(options: ChromiumOptions = {}): Promise<ChromiumSession> {
  const userDataDir = options.userDataDir ?? mkdtempSync(path.join(os.tmpdir(), 'kontor-chromium-'));
  const extensionDir = options.extensionDir === null ? null : (options.extensionDir ?? distChromium);
  const args = [
    ...(extensionDir ? [`--disable-extensions-except=${extensionDir}`, `--load-extension=${extensionDir}`] : []),
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
    // Local sites serve https with a self-signed certificate (site-server.ts).
    '--ignore-certificate-errors',
  ];
  if (options.sitePort) args.push(`--host-resolver-rules=MAP * 127.0.0.1:${options.sitePort}, EXCLUDE localhost, EXCLUDE 127.0.0.1`);
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  if (options.locale) {
    args.push(`--lang=${options.locale}`);
    env.LANGUAGE = options.locale;
    env.LANG = `${options.locale}_${options.locale.toUpperCase()}.UTF-8`;
    env.LC_ALL = env.LANG;
  }
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_BIN,
    headless: options.headless ?? true,
    ...(extensionDir ? { ignoreDefaultArgs: ['--disable-extensions'] } : {}),
    args,
    env,
    ignoreHTTPSErrors: true,
    ...(options.locale ? { locale: options.locale } : {}),
  });
  const errors: string[] = [];
  const origin = `chrome-extension://${CHROMIUM_EXTENSION_ID}/`;
  const watch = (page: Page) => {
    page.on('pageerror', (e) => page.url().startsWith(origin) && errors.push(`${page.url()}: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && page.url().startsWith(origin) && errors.push(`${page.url()}: ${m.text()}`));
  };
  ctx.on('page', watch);
  const worker = async (): Promise<Worker> => {
    const sw =
      ctx.serviceWorkers().find((w) => w.url().startsWith(origin)) ??
      (await ctx.waitForEvent('serviceworker', { predicate: (w) => w.url().startsWith(origin), timeout: 30_000 }));
    // One round trip before the first navigation, or early DNR debug events get lost.
    await sw.evaluate(() => 1);
    return sw;
  };
  // an extension without a background (e.g. a benchmark's control) has no worker to wait for
  if (extensionDir && hasServiceWorker(extensionDir))
    (await worker()).on('console', (m) => m.type() === 'error' && errors.push(`worker: ${m.text()}`));
  return {
    ctx,
    extensionId: CHROMIUM_EXTENSION_ID,
    userDataDir,
    worker,
    errors,
    async openExtensionPage(name, query = '') {
      const page = await ctx.newPage();
      await page.goto(`${origin}${name}.html${query}`);
      return page;
    },
    async close({ keepProfile = false } = {}) {
      await ctx.close();
      if (!keepProfile && !options.userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
