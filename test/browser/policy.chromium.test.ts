/**
 * Enterprise policy in real Chromium through /etc/chromium/policies/managed/: the policy's
 * gateway is used for enrollment (and locked), an invalid value is reported with its path
 * while the rest applies, and a policy change while the browser runs takes effect.
 */
import type { Kind, Params } from '../../src/shared/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startGateway, type GatewayHandle } from '../gateway/helpers';
import { launchChromium, type ChromiumSession } from '../support/chromium';
import { createOrg, publish, type TestOrg } from '../support/orgs';
import { installChromiumPolicy, type InstalledPolicy } from '../support/policy';
import { startSiteServer, type SiteServer } from '../support/site-server';
import { askChromium } from '../support/messages';

let site: SiteServer;
let gw: GatewayHandle;
let browser: ChromiumSession;
let policy: InstalledPolicy;
let globex: TestOrg;
let initech: TestOrg;
let ui: Page;

const ask = <K extends Kind>(kind: K, params: Params<K>) => askChromium(ui, kind, params);
const partners = async () => (await ask('partners.list', {})).partners;

beforeAll(async () => {
  site = await startSiteServer();
  gw = await startGateway({ domain: 'acme.example', extraArgs: ['--org-name', 'Acme AG'] });
  globex = await createOrg('globex.example', 'Globex GmbH');
  initech = await createOrg('initech.example', 'Initech AG');
  publish(site, 'globex.example', () => globex.manifest);
  publish(site, 'initech.example', () => initech.manifest);
  policy = installChromiumPolicy({
    organization: { domain: 'acme.example', gateway: gw.url },
    partners: [{ domain: 'globex.example', name: 'Globex GmbH', orgKey: globex.fingerprint.replace(/ /g, '') }, { domain: 'not a domain!' }],
    retentionDays: 0,
    discovery: { allowUserPartners: false },
  });
  browser = await launchChromium({ sitePort: site.port });
  ui = await browser.openExtensionPage('options');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  policy?.remove();
  await gw?.stop();
  await site?.close();
});

describe('enterprise policy (Chromium)', () => {
  it('reports every invalid value with its path and applies the rest', async () => {
    await expect.poll(async () => (await ask('policy.state', {})).problems.map((p) => p.path), { timeout: 30_000 }).toEqual(expect.arrayContaining(['partners[1].domain', 'retentionDays']));
    await expect.poll(async () => (await partners()).map((p) => p.domain), { timeout: 30_000 }).toEqual(['globex.example']);
    await ui.reload();
    await expect.poll(() => ui.getByTestId('policy-problems').textContent()).toContain('partners[1].domain');
    expect(await ui.getByTestId('policy-problems').textContent()).toContain('retentionDays');
    // The valid parts apply: the partner list is managed, so the employee cannot add one.
    expect(await ui.getByTestId('partners').textContent()).toContain('Your organisation manages the partner list.');
    await expect(ask('partners.add', { domain: 'initech.example' })).rejects.toThrow(/forbidden/);
  });

  it("uses and locks the policy's gateway for enrollment", async () => {
    const panel = await browser.openExtensionPage('sidepanel');
    const input = panel.getByTestId('enroll-gateway');
    await expect.poll(() => input.inputValue(), { timeout: 30_000 }).toBe(gw.url);
    expect(await input.isDisabled()).toBe(true);
    await panel.getByTestId('enroll-code').fill(await gw.enroll('alice', 'Alice Schmidt'));
    await panel.getByTestId('enroll-submit').click();
    await expect.poll(() => panel.getByTestId('identity').textContent(), { timeout: 30_000 }).toContain('Alice Schmidt');
    expect(await panel.getByTestId('identity').textContent()).toContain('Acme AG');
  });

  it('applies a policy change while the browser runs', async () => {
    const tabOf = async (url: string) => {
      const page = await browser.ctx.newPage();
      await page.goto(url);
      const sw = await browser.worker();
      return sw.evaluate(async (u) => (await chrome.tabs.query({})).find((t) => t.url === u)?.id ?? -1, page.url());
    };
    const before = await tabOf('https://www.initech.example/');
    expect((await ask('tab.state', { tabId: before })).match).toBeNull();
    policy.update({
      organization: { domain: 'acme.example', gateway: gw.url },
      partners: [
        { domain: 'globex.example', name: 'Globex GmbH', orgKey: globex.fingerprint.replace(/ /g, '') },
        { domain: 'initech.example', name: 'Initech AG', orgKey: initech.fingerprint.replace(/ /g, '') },
      ],
    });
    // Chromium notices the changed policy file and Kontor applies it live (storage.onChanged).
    await expect.poll(async () => (await partners()).map((p) => p.domain), { timeout: 60_000, interval: 1000 }).toEqual(['globex.example', 'initech.example']);
    await expect.poll(async () => (await ask('policy.state', {})).problems, { timeout: 10_000 }).toEqual([]);
    const after = await tabOf('https://www.initech.example/');
    await expect.poll(async () => (await ask('tab.state', { tabId: after })).match?.partner.state, { timeout: 15_000 }).toBe('pinned-policy');
  });
});
