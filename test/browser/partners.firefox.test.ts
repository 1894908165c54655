/**
 * Partner detection in real Firefox ESR with /etc/firefox/policies/policies.json, signed
 * manifests over https, and the same fixture pages as the Chromium run. Firefox resolves
 * every host to loopback, so the site server listens on 80 and 443.
 */
import type { Kind, Params } from '../../src/shared/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { launchFirefox, type FirefoxSession } from '../support/firefox';
import { createOrg, publish, type TestOrg } from '../support/orgs';
import { installFirefoxPolicy, type InstalledPolicy } from '../support/policy';
import { waitFor } from '../support/poll';
import { startSiteServer, type SiteServer } from '../support/site-server';
import { askFirefox } from '../support/messages';

type Ext = { runtime: { sendMessage(m: unknown): Promise<unknown> }; tabs: { query(q: object): Promise<{ id: number; url: string }[]> } };

let site: SiteServer;
let ff: FirefoxSession;
let policy: InstalledPolicy;
let globex: TestOrg;
let ui: Page;

const ask = <K extends Kind>(kind: K, params: Params<K>) => askFirefox(ui, kind, params);
async function tabIdOf(url: string): Promise<number> {
  return waitFor(
    () =>
      ui.evaluate(
        async (u) => (await (globalThis as unknown as { browser: Ext }).browser.tabs.query({})).find((t) => t.url === u)?.id ?? -1,
        url,
      ),
    (id) => id > 0,
    10_000,
    `tab ${url}`,
  );
}
const tabState = (tabId: number) => ask('tab.state', { tabId });

beforeAll(async () => {
  globex = await createOrg('globex.example', 'Globex GmbH', { profiles: ['https://www.linkedin.com/company/globex'] });
  site = await startSiteServer({ port: 80, extraPorts: [443] });
  publish(site, 'globex.example', () => globex.manifest);
  policy = installFirefoxPolicy({
    partners: [{ domain: 'globex.example', name: 'Globex GmbH', orgKey: globex.fingerprint.replace(/ /g, '') }],
  });
  ff = await launchFirefox();
  ui = await ff.openExtensionPage('options');
  await waitFor(
    async () => (await ask('partners.list', {})).partners.find((p) => p.domain === 'globex.example')?.profiles ?? [],
    (p) => p.includes('linkedin.com/company/globex'),
    30_000,
    'globex manifest',
  );
});
afterAll(async () => {
  await ff?.close();
  policy?.remove();
  await site?.close();
});

describe('partner detection (Firefox)', () => {
  it('recognises the policy partner on its website and on its claimed LinkedIn page', async () => {
    for (const [url, via] of [
      ['https://www.globex.example/', 'domain'],
      ['https://www.linkedin.com/company/globex/', 'profile'],
    ] as const) {
      const page = await ff.browser.newPage();
      await page.goto(url);
      const tabId = await tabIdOf(url);
      await expect.poll(async () => (await tabState(tabId)).match?.via, { message: url, timeout: 10_000 }).toBe(via);
      expect((await tabState(tabId)).match?.partner).toMatchObject({ domain: 'globex.example', state: 'pinned-policy' });
      await page.close();
    }
  });

  it('does not recognise lookalikes, forged JSON-LD or a non-partner profile', async () => {
    for (const url of [
      'https://globex-example.com/',
      'https://globex.example.evil.test/',
      'https://evil.test/',
      'https://www.linkedin.com/company/initech/',
    ]) {
      const page = await ff.browser.newPage();
      await page.goto(url);
      const tabId = await tabIdOf(url);
      await expect.poll(async () => (await tabState(tabId)).url, { message: url }).toBe(url);
      await new Promise((r) => setTimeout(r, 300));
      expect((await tabState(tabId)).match, url).toBeNull();
      await page.close();
    }
  });

  it('follows in-page navigation on a single-page site', async () => {
    const page = await ff.browser.newPage();
    await page.goto('https://www.linkedin.com/feed/');
    const tabId = await tabIdOf('https://www.linkedin.com/feed/');
    await page.click('#to-globex');
    await expect.poll(async () => (await tabState(tabId)).match?.partner.domain, { timeout: 10_000 }).toBe('globex.example');
    await page.click('#to-initech');
    await expect.poll(async () => (await tabState(tabId)).url).toBe('https://www.linkedin.com/company/initech/');
    expect((await tabState(tabId)).match).toBeNull();
    await page.close();
  });

  it('leaves nothing the page can observe (same as Firefox without Kontor) and requests no manifest', async () => {
    const observe = async (session: FirefoxSession, url: string) => {
      const page = await session.browser.newPage();
      await page.goto(url);
      await new Promise((r) => setTimeout(r, 700));
      const log = await page.evaluate(() => (window as unknown as { __probeDone: Promise<unknown> }).__probeDone);
      await page.close();
      return log as { mutations: string[]; messages: string[]; probes: Record<string, string> };
    };
    const plain = await launchFirefox({ extensionDir: null });
    try {
      for (const url of [
        'https://www.globex.example/',
        'https://www.linkedin.com/company/globex/',
        'https://www.linkedin.com/company/initech/',
      ]) {
        site.clear();
        const withKontor = await observe(ff, url);
        expect(
          site.requests.filter((r) => r.path === '/.well-known/kontor.json'),
          url,
        ).toEqual([]);
        const without = await observe(plain, url);
        expect(withKontor, url).toEqual(without);
        expect(withKontor.messages, url).toEqual([]);
        for (const [target, outcome] of Object.entries(withKontor.probes)) expect(outcome, target).toBe('rejected; img error');
      }
    } finally {
      await plain.close();
    }
  });
});
