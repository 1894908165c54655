/**
 * The core private-channel exchange with Firefox ESR on one side: Alice (Acme) uses
 * Firefox, Gina (Globex) uses Chromium; two real gateways. Detection, "Start private
 * contact" from the popup, the encrypted message read in the partner's side panel, and
 * the reply read back in Firefox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import type { GatewayHandle } from '../gateway/helpers';
import { employee, shownTexts, startGatewayPair, type Employee } from '../support/channel';
import { launchFirefox, type FirefoxSession } from '../support/firefox';
import { waitFor } from '../support/poll';
import { startSiteServer, type SiteServer } from '../support/site-server';
import { askFirefox } from '../support/messages';

type Ext = { runtime: { sendMessage(m: unknown): Promise<unknown> }; tabs: { query(q: object): Promise<{ id: number; url: string }[]> } };

let site: SiteServer;
let acme: GatewayHandle;
let globex: GatewayHandle;
let ff: FirefoxSession;
let panel: Page;
let gina: Employee;

const FIRST = 'Firefox here: please send the updated price list.';
const REPLY = 'Sent: price list 2027 attached to our next mail.';

const ask = askFirefox;
const texts = (page: Page) => page.$$eval('[data-testid=message-text]', (els) => els.map((e) => e.textContent ?? ''));

beforeAll(async () => {
  site = await startSiteServer({ port: 80, extraPorts: [443] });
  ({ acme, globex } = await startGatewayPair(site));
  gina = await employee({ sitePort: site.port, gateway: globex, id: 'gina', name: 'Gina Rossi', partners: ['acme.example'] });
  ff = await launchFirefox();
  panel = await ff.openExtensionPage('sidepanel');
  await ask(panel, 'partners.add', { domain: 'globex.example' });
  const code = await acme.enroll('alice', 'Alice Schmidt');
  await panel.waitForSelector('[data-testid=enroll-gateway]');
  await panel.type('[data-testid=enroll-gateway]', acme.url);
  await panel.type('[data-testid=enroll-code]', code);
  await panel.click('[data-testid=enroll-submit]');
  await waitFor(
    () => ask(panel, 'channel.identity', {}),
    (i) => i.enrolled && i.connected,
    30_000,
    'Firefox enrolled and connected',
  );
}, 240_000);

afterAll(async () => {
  await ff?.close();
  await gina?.browser.close();
  await Promise.all([acme?.stop(), globex?.stop()]);
  await site?.close();
});

describe('private channel with Firefox', () => {
  it('Firefox starts private contact from the partner page; the partner reads it and answers', async () => {
    const page = await ff.browser.newPage();
    await page.goto('https://www.globex.example/');
    const tabId = await waitFor(
      () =>
        panel.evaluate(
          async () =>
            (await (globalThis as unknown as { browser: Ext }).browser.tabs.query({})).find((t) =>
              t.url.startsWith('https://www.globex.example/'),
            )?.id ?? -1,
        ),
      (id) => id > 0,
      10_000,
      'tab',
    );
    const popup = await ff.openExtensionPage('popup', `?tab=${tabId}`);
    await popup.waitForSelector('[data-testid=start-contact]', { timeout: 15_000 });
    await popup.click('[data-testid=start-contact]');
    // The side panel follows the popup's request live (BiDi cannot reload extension pages).
    await panel.waitForSelector('[data-testid=contact-sales]', { timeout: 15_000 });
    await panel.click('[data-testid=contact-sales]');
    await panel.waitForSelector('[data-testid=composer]', { timeout: 30_000 });
    await panel.type('[data-testid=composer]', FIRST);
    await panel.keyboard.press('Enter');
    await expect.poll(() => texts(panel), { timeout: 15_000 }).toEqual([FIRST]);

    await expect.poll(async () => (await gina.ask('channel.list', {})).conversations.length, { timeout: 30_000 }).toBe(1);
    await gina.panel.reload();
    await gina.panel.getByTestId('conversation-item').click();
    await expect.poll(() => shownTexts(gina.panel), { timeout: 30_000 }).toEqual([FIRST]);
    await gina.panel.getByTestId('composer').fill(REPLY);
    await gina.panel.getByTestId('composer').press('Enter');
    await expect.poll(() => texts(panel), { timeout: 30_000 }).toEqual([FIRST, REPLY]);
  });
});
