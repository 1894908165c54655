/**
 * Kontor demo: starts local sites on real-looking hostnames, launches Chromium with the
 * built extension (headed when a display exists; `--headless` runs without one), and walks
 * through what an employee sees, printing a transcript and saving screenshots under
 * demo-output/. Exits non-zero if a step fails.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { launchChromium } from '../test/browser/harness/chromium';
import { startSiteServer } from '../test/browser/harness/site-server';
import { root } from './build';

const args = process.argv.slice(2);
const headless = args.includes('--headless') || !process.env.DISPLAY;
const outDir = path.join(root, 'demo-output');
mkdirSync(outDir, { recursive: true });
const say = (s: string) => console.log(`[demo] ${s}`);

async function main(): Promise<void> {
  const site = await startSiteServer();
  say(`local sites on 127.0.0.1:${site.port}; every hostname resolves there`);
  const browser = await launchChromium({ sitePort: site.port, headless });
  say(`Chromium started ${headless ? 'headless' : 'with a window'}; Kontor ${browser.extensionId} loaded`);
  try {
    const page = await browser.ctx.newPage();
    await page.goto('http://www.globex.example/');
    await page.waitForLoadState('load');
    say(`opened ${page.url()} ("${await page.title()}")`);
    await page.screenshot({ path: path.join(outDir, '1-partner-site.png') });
    const sw = await browser.worker();
    const tabId = await sw.evaluate(async () => (await chrome.tabs.query({ url: 'http://www.globex.example/*' }))[0]?.id ?? -1);
    const popup = await browser.openExtensionPage('popup', `?tab=${tabId}`);
    await popup.setViewportSize({ width: 360, height: 260 });
    await popup.getByText('Kontor is active').waitFor({ timeout: 10_000 });
    say(`popup: ${(await popup.locator('main').innerText()).replace(/\s+/g, ' ')}`);
    await popup.screenshot({ path: path.join(outDir, '2-popup.png') });
    await popup.getByTestId('open-sidepanel').click();
    const panels = await sw.evaluate(async () => (await chrome.runtime.getContexts({ contextTypes: ['SIDE_PANEL' as chrome.runtime.ContextType] })).length);
    if (panels !== 1) throw new Error('side panel did not open');
    say('clicked "Open private channels": the side panel is open');
    const panel = await browser.openExtensionPage('sidepanel');
    await panel.setViewportSize({ width: 400, height: 500 });
    await panel.screenshot({ path: path.join(outDir, '3-sidepanel.png') });
    say(`screenshots saved in ${path.relative(root, outDir)}/`);
    if (!headless && !args.includes('--exit')) {
      say('the browser stays open; press Ctrl+C to end the demo');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
  } finally {
    await browser.close();
    await site.close();
  }
}

main().then(
  () => say('done'),
  (error: unknown) => {
    console.error(`[demo] FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
