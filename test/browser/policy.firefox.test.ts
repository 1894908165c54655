/**
 * Enterprise policy in real Firefox ESR through /etc/firefox/policies/policies.json
 * (3rdparty.Extensions): Firefox does not enforce managed_schema, so Kontor validates the
 * policy itself: invalid values are reported with their paths while the rest applies, the
 * policy's gateway is used and locked for enrollment, and locked blocking cannot be paused.
 * (Firefox reads policies.json only at start, so there is no live-change case here.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { startGateway, type GatewayHandle } from '../gateway/helpers';
import { launchFirefox, type FirefoxSession } from '../support/firefox';
import { installFirefoxPolicy, type InstalledPolicy } from '../support/policy';
import { waitFor } from '../support/poll';
import { startSiteServer, type SiteServer } from '../support/site-server';
import { sendFirefox } from '../support/messages';


let site: SiteServer;
let gw: GatewayHandle;
let ff: FirefoxSession;
let policy: InstalledPolicy;
let ui: Page;

const raw = sendFirefox;

beforeAll(async () => {
  site = await startSiteServer({ port: 80, extraPorts: [443] });
  gw = await startGateway({ domain: 'acme.example', extraArgs: ['--org-name', 'Acme AG'] });
  policy = installFirefoxPolicy({
    organization: { domain: 'acme.example', gateway: gw.url },
    blocking: { locked: true, categories: { social: 'no' } },
    retentionDays: 'forever',
    unknownSwitch: true,
  });
  ff = await launchFirefox();
  ui = await ff.openExtensionPage('options');
}, 120_000);

afterAll(async () => {
  await ff?.close();
  policy?.remove();
  await gw?.stop();
  await site?.close();
});

describe('enterprise policy (Firefox)', () => {
  it('reports every invalid value with its path and applies the rest', async () => {
    const state = await waitFor(async () => {
      const r = await raw(ui, 'policy.state', {});
      return r.ok ? r.result : null;
    }, (s) => (s?.problems.length ?? 0) >= 3, 30_000, 'policy problems');
    expect(state!.problems.map((p) => p.path).sort()).toEqual(['blocking.categories.social', 'retentionDays', 'unknownSwitch']);
    expect(state!.managed).toBe(true);
    expect(state!.locks).toEqual(expect.arrayContaining(['blocking.pause', 'organization.gateway']));
    const text = await ui.$eval('[data-testid=policy-problems]', (e) => e.textContent ?? '').catch(async () => {
      await new Promise((r) => setTimeout(r, 500));
      return ui.$eval('[data-testid=policy-problems]', (e) => e.textContent ?? '');
    });
    expect(text).toContain('retentionDays');
  });

  it('refuses to pause locked blocking', async () => {
    const r = await raw(ui, 'blocking.pause', { site: 'www.business.example' });
    expect(r).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it("enrolls with the policy's gateway, which the employee cannot change", async () => {
    const panel = await ff.openExtensionPage('sidepanel');
    await panel.waitForSelector('[data-testid=enroll-gateway]');
    await waitFor(() => panel.$eval('[data-testid=enroll-gateway]', (e) => (e as HTMLInputElement).value), (v) => v === gw.url, 15_000, 'gateway prefilled');
    expect(await panel.$eval('[data-testid=enroll-gateway]', (e) => (e as HTMLInputElement).disabled)).toBe(true);
    await panel.type('[data-testid=enroll-code]', await gw.enroll('alice', 'Alice Schmidt'));
    await panel.click('[data-testid=enroll-submit]');
    await waitFor(() => panel.$eval('[data-testid=identity]', (e) => e.textContent ?? '').catch(() => ''), (t) => t.includes('Alice Schmidt') && t.includes('Acme AG'), 30_000, 'enrolled');
  });
});
