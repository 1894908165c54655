/**
 * Enterprise policy in real Chromium (/etc/chromium/policies/managed/) and real Firefox ESR
 * (/etc/firefox/policies/policies.json, 3rdparty.Extensions), one spec run in both: invalid
 * values are reported with their paths while the rest applies, the policy's gateway is used and
 * locked for enrollment, locked blocking cannot be paused, and (Chromium only: Firefox reads
 * policies.json only at start) a policy change while the browser runs takes effect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayHandle } from '../gateway/helpers';
import { createOrg, publish, type TestOrg } from '../support/orgs';
import type { InstalledPolicy } from '../support/policy';
import { BROWSERS, installPolicy, launchBrowser, startSiteFor, type BrowserSession, type KontorPage } from '../support/session';
import type { SiteServer } from '../support/site-server';

const pin = (org: TestOrg) => org.fingerprint.replace(/ /g, '');

for (const name of BROWSERS) {
  describe(`enterprise policy (${name})`, () => {
    let site: SiteServer;
    let gw: GatewayHandle;
    let browser: BrowserSession;
    let policy: InstalledPolicy;
    let globex: TestOrg;
    let initech: TestOrg;
    let ui: KontorPage;
    const partners = async () => (await ui.ask('partners.list', {})).partners.map((p) => p.domain);

    beforeAll(async () => {
      site = await startSiteFor(name);
      gw = await startGateway({ domain: 'acme.example', extraArgs: ['--org-name', 'Acme AG'] });
      globex = await createOrg('globex.example', 'Globex GmbH');
      initech = await createOrg('initech.example', 'Initech AG');
      publish(site, 'globex.example', () => globex.manifest);
      publish(site, 'initech.example', () => initech.manifest);
      policy = installPolicy(name, {
        organization: { domain: 'acme.example', gateway: gw.url },
        partners: [{ domain: 'globex.example', name: 'Globex GmbH', orgKey: pin(globex) }, { domain: 'not a domain!' }],
        retentionDays: 0,
        discovery: { allowUserPartners: false },
        // A wrong type only where Kontor is the one to check it: Chromium enforces
        // managed_schema.json and drops an object with a wrong-typed member whole, the lock with it.
        blocking: name === 'firefox' ? { locked: true, categories: { social: 'no' } } : { locked: true },
        unknownSwitch: true,
      });
      browser = await launchBrowser(name, site);
      ui = await browser.openExtensionPage('options');
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      policy?.remove();
      await gw?.stop();
      await site?.close();
    });

    it('reports every invalid value with its path and applies the rest', async () => {
      const paths = async () => (await ui.ask('policy.state', {})).problems.map((p) => p.path).sort();
      // Values only Kontor's own checks reject are reported in both browsers. Firefox does not
      // enforce managed_schema.json, so there Kontor also reports the wrong type and the unknown key.
      await expect.poll(paths, { timeout: 30_000 }).toEqual(expect.arrayContaining(['partners[1].domain', 'retentionDays']));
      if (name === 'firefox')
        expect(await paths()).toEqual(['blocking.categories.social', 'partners[1].domain', 'retentionDays', 'unknownSwitch']);
      const state = await ui.ask('policy.state', {});
      expect(state.managed).toBe(true);
      expect(state.locks).toEqual(expect.arrayContaining(['blocking.pause', 'organization.gateway']));
      await expect.poll(partners, { timeout: 30_000 }).toEqual(['globex.example']);
      // A freshly opened options page shows the problems (Firefox cannot reload an extension page over BiDi).
      const options = await browser.openExtensionPage('options');
      await expect.poll(() => options.text('policy-problems')).toContain('partners[1].domain');
      expect(await options.text('policy-problems')).toContain('retentionDays');
      // The valid parts apply: the partner list is managed, so the employee cannot add one.
      await expect.poll(() => options.text('partners')).toContain('Your organisation manages the partner list.');
      await expect(ui.ask('partners.add', { domain: 'initech.example' })).rejects.toThrow(/forbidden/);
    });

    it('refuses to pause locked blocking', async () => {
      expect(await ui.send('blocking.pause', { site: 'www.business.example' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    });

    it("enrolls with the policy's gateway, which the employee cannot change", async () => {
      const panel = await browser.openExtensionPage('sidepanel');
      await expect.poll(() => panel.value('enroll-gateway'), { timeout: 30_000 }).toBe(gw.url);
      expect(await panel.disabled('enroll-gateway')).toBe(true);
      await panel.fill('enroll-code', await gw.enroll('alice', 'Alice Schmidt'));
      await panel.click('enroll-submit');
      await expect.poll(() => panel.text('identity'), { timeout: 30_000 }).toContain('Alice Schmidt');
      expect(await panel.text('identity')).toContain('Acme AG');
    });

    it.skipIf(name === 'firefox')('applies a policy change while the browser runs', async () => {
      const before = await browser.openTab('https://www.initech.example/');
      expect((await ui.ask('tab.state', { tabId: before })).match).toBeNull();
      policy.update({
        organization: { domain: 'acme.example', gateway: gw.url },
        partners: [
          { domain: 'globex.example', name: 'Globex GmbH', orgKey: pin(globex) },
          { domain: 'initech.example', name: 'Initech AG', orgKey: pin(initech) },
        ],
      });
      // Chromium notices the changed policy file and Kontor applies it live (storage.onChanged).
      await expect.poll(partners, { timeout: 60_000, interval: 1000 }).toEqual(['globex.example', 'initech.example']);
      await expect.poll(async () => (await ui.ask('policy.state', {})).problems, { timeout: 10_000 }).toEqual([]);
      const after = await browser.openTab('https://www.initech.example/');
      await expect
        .poll(async () => (await ui.ask('tab.state', { tabId: after })).match?.partner.state, { timeout: 15_000 })
        .toBe('pinned-policy');
    });
  });
}
