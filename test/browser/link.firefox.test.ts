/**
 * Issue 15, the core linking exchange with Firefox ESR as the new browser: Alice's enrolled
 * Chromium takes the code Firefox's side panel shows; Firefox ends enrolled at her gateway,
 * connected, with a chain to the same employee identity as her first browser.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { startGateway, type GatewayHandle } from '../gateway/helpers';
import { employee, type Employee } from '../support/channel';
import { launchFirefox, type FirefoxSession } from '../support/firefox';
import { askFirefox } from '../support/messages';
import { waitFor } from '../support/poll';
import { startSiteServer, type SiteServer } from '../support/site-server';

let site: SiteServer;
let acme: GatewayHandle;
let alice: Employee;
let ff: FirefoxSession;
let panel: Page;

beforeAll(async () => {
  site = await startSiteServer({ port: 80, extraPorts: [443] });
  acme = await startGateway({ domain: 'acme.example', extraArgs: ['--org-name', 'Acme AG'] });
  alice = await employee({ sitePort: site.port, gateway: acme, id: 'alice', name: 'Alice Schmidt', partners: [] });
  ff = await launchFirefox();
  panel = await ff.openExtensionPage('sidepanel');
}, 240_000);

afterAll(async () => {
  await ff?.close();
  await alice?.browser.close();
  await acme?.stop();
  await site?.close();
});

describe('linking Firefox (issue 15: linking)', () => {
  it('Firefox shows a code, Alice’s first browser takes it, both show one SAS, and Firefox ends enrolled with a chain to her identity', async () => {
    await panel.waitForSelector('[data-testid=link-gateway]');
    await panel.type('[data-testid=link-gateway]', acme.url);
    await panel.click('[data-testid=link-start]');
    const code = await waitFor(
      () => panel.$eval('[data-testid=link-code]', (e) => e.textContent ?? '').catch(() => ''),
      (t) => /^[A-Z0-9]{5}-[A-Z0-9]{5}$/.test(t),
      30_000,
      'code shown in Firefox',
    );
    expect(await panel.$('[data-testid=link-qr]')).not.toBeNull();

    const joined = await alice.ask('channel.linkJoin', { code });
    const sasB = await waitFor(
      () => panel.$eval('[data-testid=link-sas-new]', (e) => e.textContent ?? '').catch(() => ''),
      (t) => /\d{3} \d{3}/.test(t),
      30_000,
      'SAS in Firefox',
    );
    expect(sasB).toContain(joined.sas!);
    await alice.ask('channel.linkConfirm', { history: false });

    const b = await waitFor(
      () => askFirefox(panel, 'channel.identity', {}),
      (i) => i.enrolled && i.connected,
      60_000,
      'Firefox linked and connected',
    );
    const a = await alice.ask('channel.identity', {});
    expect(b).toMatchObject({ displayName: 'Alice Schmidt', employeeId: 'alice', orgDomain: 'acme.example' });
    expect(b.identityKey).not.toBeNull();
    expect(b.identityKey).toBe(a.identityKey);
    expect((await alice.ask('channel.linkStatus', {})).stage).toBe('done');
  });
});
