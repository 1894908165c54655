/**
 * Foundation in real Firefox ESR: the extension installs and its background, popup, side
 * panel and options pages work; the background validates messages; the sidebar opens from
 * a real click; the UI follows a German browser.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { launchFirefox, type FirefoxSession } from '../support/firefox';

type Ext = { runtime: { sendMessage(m: unknown): Promise<unknown> }; sidebarAction: { isOpen(o: object): Promise<boolean> } };
const text = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? '').catch(() => '');

describe('foundation (Firefox)', () => {
  let ff: FirefoxSession;
  beforeAll(async () => {
    ff = await launchFirefox();
  });
  afterAll(async () => ff?.close());

  it('loads the extension; pages render and the background answers', async () => {
    const popup = await ff.openExtensionPage('popup');
    await expect.poll(() => text(popup, '[data-testid=status]'), { timeout: 15_000 }).toBe('Kontor is active');
    const options = await ff.openExtensionPage('options');
    await expect.poll(() => text(options, '[data-testid=about]')).toContain('firefox');
    const panel = await ff.openExtensionPage('sidepanel');
    await expect.poll(() => text(panel, '[data-testid=conversations]')).toContain('No conversations yet');
  });

  it('validates messages from its own pages', async () => {
    const popup = await ff.openExtensionPage('popup');
    const send = (m: unknown) => popup.evaluate((msg) => (globalThis as unknown as { browser: Ext }).browser.runtime.sendMessage(msg), m);
    expect(await send({ kontor: 1, kind: 'app.status', params: {} })).toMatchObject({ ok: true, result: { browser: 'firefox' } });
    expect(await send({ kontor: 1, kind: 'tab.state', params: { tabId: -4 } })).toMatchObject({
      ok: false,
      error: { code: 'invalid_params' },
    });
    expect(await send({ kontor: 2 })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  it('opens the sidebar from a real click', async () => {
    const popup = await ff.openExtensionPage('popup');
    const isOpen = () => popup.evaluate(() => (globalThis as unknown as { browser: Ext }).browser.sidebarAction.isOpen({}));
    expect(await isOpen()).toBe(false);
    await popup.click('[data-testid=open-sidepanel]');
    await expect.poll(isOpen, { timeout: 10_000 }).toBe(true);
  });
});

describe('foundation (Firefox, German)', () => {
  let ff: FirefoxSession;
  beforeAll(async () => {
    ff = await launchFirefox({ locale: 'de' });
  });
  afterAll(async () => ff?.close());

  it('renders the UI in German', async () => {
    const popup = await ff.openExtensionPage('popup');
    await expect.poll(() => text(popup, 'h1'), { timeout: 15_000 }).toBe('Kontor auf dieser Seite');
    expect(await popup.$eval('html', (e) => e.lang)).toMatch(/^de/);
  });
});
