/**
 * Foundation in real Chromium: the built extension loads cleanly, the background answers
 * validated messages from its own pages, refuses untrusted or malformed ones from a content
 * script, the side panel opens from a real click, and the UI follows the browser's language.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CDPSession, Page } from 'playwright-core';
import { launchChromium, type ChromiumSession } from '../support/chromium';
import { createOrg, publish } from '../support/orgs';
import { waitFor } from '../support/poll';
import { startSiteServer, type SiteServer } from '../support/site-server';

let site: SiteServer;
let browser: ChromiumSession;

beforeAll(async () => {
  site = await startSiteServer();
  const globex = await createOrg('globex.example', 'Globex GmbH');
  publish(site, 'globex.example', () => globex.manifest);
  browser = await launchChromium({ sitePort: site.port });
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
});

/** Evaluates `expression` in the content script's isolated world of `page`. */
async function inContentScript(page: Page, expression: string): Promise<unknown> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  const contexts: { id: number; name: string; origin: string; auxData?: { type?: string } }[] = [];
  cdp.on('Runtime.executionContextCreated', (e) => contexts.push(e.context));
  await cdp.send('Runtime.enable');
  const isolated = await waitFor(() => contexts.find((c) => c.auxData?.type === 'isolated' && c.name === 'Kontor'), undefined, {
    timeout: 10_000,
    interval: 100,
  }).catch(() => {
    throw new Error(`no Kontor content-script world; saw ${contexts.map((c) => c.name).join(', ')}`);
  });
  const r = await cdp.send('Runtime.evaluate', { contextId: isolated.id, expression, awaitPromise: true, returnByValue: true });
  await cdp.detach();
  if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
  return r.result.value;
}

describe('foundation (Chromium)', () => {
  it('loads the extension and its background without errors', async () => {
    const sw = await browser.worker();
    const manifest = await sw.evaluate(() => chrome.runtime.getManifest());
    expect(manifest.manifest_version).toBe(3);
    expect(sw.url()).toBe(`chrome-extension://${browser.extensionId}/background.js`);
    const popup = await browser.openExtensionPage('popup');
    await expect.poll(() => popup.getByTestId('status').textContent()).toBe('Kontor is active');
    const options = await browser.openExtensionPage('options');
    await expect.poll(() => options.getByTestId('about').textContent()).toContain('chromium');
    const panel = await browser.openExtensionPage('sidepanel');
    await expect.poll(() => panel.getByTestId('conversations').textContent()).toContain('No conversations yet');
    expect(browser.errors).toEqual([]);
  });

  it('answers a validated message from the popup and rejects invalid params', async () => {
    const popup = await browser.openExtensionPage('popup');
    const ok = await popup.evaluate(() => chrome.runtime.sendMessage({ kontor: 1, kind: 'app.status', params: {} }));
    expect(ok).toMatchObject({ ok: true, result: { browser: 'chromium', version: '0.1.0' } });
    const bad = await popup.evaluate(() => chrome.runtime.sendMessage({ kontor: 1, kind: 'tab.state', params: { tabId: 'x' } }));
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_params' } });
    const unknown = await popup.evaluate(() => chrome.runtime.sendMessage({ kontor: 1, kind: 'keys.export', params: {} }));
    expect(unknown).toMatchObject({ ok: false, error: { code: 'unknown_kind' } });
  });

  it('refuses untrusted and unvalidated messages from a content script', async () => {
    // The detector runs only on partner pages: make globex.example a partner first.
    const popup = await browser.openExtensionPage('popup');
    expect(
      await popup.evaluate(() => chrome.runtime.sendMessage({ kontor: 1, kind: 'partners.add', params: { domain: 'globex.example' } })),
    ).toMatchObject({ ok: true });
    const sw = await browser.worker();
    await waitFor(
      () => sw.evaluate(async () => (await chrome.scripting.getRegisteredContentScripts()).length),
      (n) => n > 0,
      10_000,
      'detector registered',
    );
    const page = await browser.ctx.newPage();
    await page.goto('https://www.globex.example/');
    const send = (msg: unknown) => inContentScript(page, `chrome.runtime.sendMessage(${JSON.stringify(msg)})`);
    expect(await send({ kontor: 1, kind: 'app.status', params: {} })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await send({ kontor: 1, kind: 'tab.state', params: { tabId: 1 } })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await send({ kontor: 1, kind: 'page.detect', params: { url: 'javascript:alert(1)' } })).toMatchObject({
      ok: false,
      error: { code: 'invalid_params' },
    });
    expect(await send({ kind: 'page.detect' })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await send({ kontor: 1, kind: 'page.detect', params: { url: 'https://www.globex.example/' } })).toEqual({
      ok: true,
      result: { partner: true },
    });
    // the page is judged by the URL the browser reports for the sender, not by the message's claim
    expect(await send({ kontor: 1, kind: 'page.detect', params: { url: 'https://www.example.org/' } })).toEqual({
      ok: true,
      result: { partner: true },
    });
    // An extra field is refused too: content-script payloads are validated strictly.
    expect(await send({ kontor: 1, kind: 'page.detect', params: { url: 'https://www.globex.example/', keys: 'x' } })).toMatchObject({
      ok: false,
      error: { code: 'invalid_params' },
    });
    await page.close();
  });

  it('opens the side panel from a real click in the popup', async () => {
    const sw = await browser.worker();
    const panels = () =>
      sw.evaluate(async () => (await chrome.runtime.getContexts({ contextTypes: ['SIDE_PANEL' as chrome.runtime.ContextType] })).length);
    expect(await panels()).toBe(0);
    const popup = await browser.openExtensionPage('popup');
    await popup.getByTestId('open-sidepanel').click();
    await expect.poll(panels, { timeout: 10_000 }).toBe(1);
  });
});

describe('foundation (Chromium, German)', () => {
  let de: ChromiumSession;
  beforeAll(async () => {
    de = await launchChromium({ sitePort: site.port, locale: 'de' });
  });
  afterAll(async () => de?.close());

  it('renders the UI in German when the browser language is German', async () => {
    const popup = await de.openExtensionPage('popup');
    await expect.poll(() => popup.locator('h1').textContent()).toBe('Kontor auf dieser Seite');
    expect(await popup.getAttribute('html', 'lang')).toMatch(/^de/);
    await expect.poll(() => popup.getByTestId('status').textContent()).toBe('Kontor ist aktiv');
    const options = await de.openExtensionPage('options');
    await expect.poll(() => options.locator('h1').textContent()).toBe('Kontor-Einstellungen');
  });
});
