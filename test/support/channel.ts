/**
 * Helpers for end-to-end channel tests: an employee's real Chromium with Kontor, enrolled
 * at a real gateway through the side panel UI, with the partner added by domain.
 */
import type { Page } from 'playwright-core';
import { startGateway, type GatewayHandle } from '../gateway/helpers';
import { publish } from './orgs';
import { startSiteServer, type SiteServer } from './site-server';
import { launchChromium, type ChromiumSession } from './chromium';
import { askChromium } from './messages';
import { waitFor } from './poll';
import type { Kind, Params, Results } from '../../src/shared/protocol';

export interface Employee {
  browser: ChromiumSession;
  panel: Page;
  ask<K extends Kind>(kind: K, params: Params<K>): Promise<Results[K]>;
}

export async function employee(o: {
  sitePort: number;
  gateway: GatewayHandle;
  id: string;
  name: string;
  partners: string[];
  headless?: boolean;
}): Promise<Employee> {
  const browser = await launchChromium({ sitePort: o.sitePort, headless: o.headless ?? true });
  const panel = await browser.openExtensionPage('sidepanel');
  const ask = <K extends Kind>(kind: K, params: Params<K>) => askChromium(panel, kind, params);
  for (const domain of o.partners) await ask('partners.add', { domain });
  // Enrollment as the employee does it: gateway address and the admin's one-time code.
  const code = await o.gateway.enroll(o.id, o.name);
  await panel.getByTestId('enroll-gateway').fill(o.gateway.url);
  await panel.getByTestId('enroll-code').fill(code);
  await panel.getByTestId('enroll-submit').click();
  await waitFor(
    () => panel.getByTestId('identity').textContent(),
    (t) => (t ?? '').includes(o.name),
    30_000,
    `${o.name} enrolled`,
  );
  await waitFor(
    () => ask('channel.identity', {}),
    (i) => i.connected,
    30_000,
    `${o.name} connected`,
  );
  return { browser, panel, ask };
}

/** Texts of the messages currently shown in a side panel conversation. */
export async function shownTexts(panel: Page): Promise<string[]> {
  return panel.getByTestId('message-text').allTextContents();
}

/**
 * Two companies' real gateways, federated and admitting each other: acme.example (Acme AG)
 * and globex.example (Globex GmbH, contact "sales" with member gina). Each publishes its
 * gateway's signed manifest under its own domain on the site server.
 */
export async function startGatewayPair(
  site: SiteServer,
  o: { dataDirs?: { acme?: string; globex?: string }; extraArgs?: string[] } = {},
): Promise<{ acme: GatewayHandle; globex: GatewayHandle }> {
  const start = (domain: string, name: string, dataDir?: string) =>
    startGateway({ domain, extraArgs: ['--org-name', name, ...(o.extraArgs ?? [])], ...(dataDir ? { dataDir } : {}) });
  const [acme, globex] = await Promise.all([
    start('acme.example', 'Acme AG', o.dataDirs?.acme),
    start('globex.example', 'Globex GmbH', o.dataDirs?.globex),
  ]);
  acme.setPeers({ 'globex.example': globex.url });
  globex.setPeers({ 'acme.example': acme.url });
  await acme.admin(['partners', 'admit', 'globex.example']);
  await globex.admin(['partners', 'admit', 'acme.example']);
  await globex.admin(['contacts', 'add', 'sales', '--name', 'Sales', '--member', 'gina']);
  for (const gw of [acme, globex]) {
    const manifest = await (await fetch(`${gw.url}/.well-known/kontor.json`)).json();
    publish(site, gw.domain, () => manifest);
  }
  return { acme, globex };
}

/** Acme's Alice and Globex's Gina, each in her own enrolled Chromium, on a real gateway pair; `close` stops everything. */
export async function aliceAndGina(o: { aliceInSales?: boolean } = {}) {
  const site = await startSiteServer();
  const { acme, globex } = await startGatewayPair(site);
  if (o.aliceInSales) await acme.admin(['contacts', 'add', 'sales', '--name', 'Sales', '--member', 'alice']);
  const [alice, gina] = await Promise.all([
    employee({ sitePort: site.port, gateway: acme, id: 'alice', name: 'Alice Schmidt', partners: ['globex.example'] }),
    employee({ sitePort: site.port, gateway: globex, id: 'gina', name: 'Gina Rossi', partners: ['acme.example'] }),
  ]);
  const close = async () => {
    await Promise.all([alice.browser.close(), gina.browser.close()]);
    await Promise.all([acme.stop(), globex.stop()]);
    await site.close();
  };
  return { site, acme, globex, alice, gina, close };
}
