/**
 * Kontor demo on embedded defaults: two company gateways (acme.example and globex.example,
 * each with its SQLite store), local sites on real-looking hostnames, and two Chromium
 * browsers with Kontor: Alice at Acme and Gina at Globex. Alice browses Globex's public
 * website, Kontor recognises the partner, she starts private contact from the popup, writes
 * in the side panel; Gina reads it decrypted in hers and answers.
 *
 *   npm run demo                      headed when a display exists
 *   npm run demo -- --headless        no display: transcript + screenshots in demo-output/
 *   npm run demo -- --message TEXT    the first message
 *   npm run demo -- --data DIR        keep the gateways' data under DIR
 *   npm run demo -- --cluster         Acme as three instances behind HAProxy on PostgreSQL + NATS (docs/scale.md)
 * Exits non-zero if the message does not arrive.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startGateway, type GatewayHandle } from '../test/gateway/helpers';
import { startCluster, type ClusterHandle } from '../test/gateway/cluster-helpers';
import { employee, shownTexts, startGatewayPair, type Employee } from '../test/support/channel';
import { publish } from '../test/support/orgs';
import { waitFor } from '../test/support/poll';
import { startSiteServer, type SiteServer } from '../test/support/site-server';
import { root } from './build';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const headless = args.includes('--headless') || !process.env.DISPLAY;
const message = flag('--message') ?? 'Hello Globex, this is Alice from Acme: could you quote 5,000 pressure sensors?';
const reply = 'Hi Alice, Gina from Globex sales here: 12.40 EUR per unit, delivery in week 32.';
const dataDir = flag('--data');
const clustered = args.includes('--cluster');

/** Acme as a cluster (three instances, HAProxy, PostgreSQL, NATS), Globex as one gateway. */
async function startClusterPair(site: SiteServer): Promise<{ acme: GatewayHandle; globex: GatewayHandle; cluster: ClusterHandle }> {
  const globex = await startGateway({ domain: 'globex.example', extraArgs: ['--org-name', 'Globex GmbH'] });
  const cluster = await startCluster({
    domain: 'acme.example',
    peers: { 'globex.example': globex.url },
    extraArgs: ['--org-name', 'Acme AG'],
  });
  globex.setPeers({ 'acme.example': cluster.url });
  // the browsers and the partner only ever see the load balancer
  const acme: GatewayHandle = { ...cluster.instances[0]!, url: cluster.url };
  await acme.admin(['partners', 'admit', 'globex.example']);
  await globex.admin(['partners', 'admit', 'acme.example']);
  await globex.admin(['contacts', 'add', 'sales', '--name', 'Sales', '--member', 'gina']);
  for (const gw of [acme, globex]) {
    const manifest = await (await fetch(`${gw.url}/.well-known/kontor.json`)).json();
    publish(site, gw.domain, () => manifest);
  }
  return { acme, globex, cluster };
}

/** Every row of every table, as text: where the cluster keeps what a data directory held. */
async function databaseText(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  let all = '';
  for (const { table_name } of (await c.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)).rows) {
    all += JSON.stringify((await c.query(`SELECT * FROM ${table_name}`)).rows);
  }
  await c.end();
  return all;
}
const outDir = path.join(root, 'demo-output');
mkdirSync(outDir, { recursive: true });
const say = (s: string) => console.log(`[demo] ${s}`);
const shot = async (page: import('playwright-core').Page, name: string) => {
  await page.screenshot({ path: path.join(outDir, name) });
  say(`  screenshot demo-output/${name}`);
};

async function main(): Promise<void> {
  const site = await startSiteServer();
  say(`local sites on 127.0.0.1:${site.port}: www.globex.example, www.linkedin.com, … resolve there`);
  const gateways: GatewayHandle[] = [];
  const stops: (() => Promise<void>)[] = [];
  const people: Employee[] = [];
  try {
    const dirs = dataDir
      ? { acme: path.join(path.resolve(dataDir), 'acme.example'), globex: path.join(path.resolve(dataDir), 'globex.example') }
      : undefined;
    if (dirs) for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
    const { acme, globex, cluster } = clustered
      ? await startClusterPair(site)
      : { ...(await startGatewayPair(site, dirs ? { dataDirs: dirs } : {})), cluster: null };
    if (cluster) stops.push(() => cluster.stop());
    else gateways.push(acme);
    gateways.push(globex);
    if (cluster)
      say(
        `gateway acme.example: HAProxy on ${cluster.url} in front of ${cluster.instances.map((g) => g.url).join(', ')} (PostgreSQL, NATS)`,
      );
    else say(`gateway acme.example on ${acme.url} (SQLite in ${acme.dataDir})`);
    say(`gateway globex.example on ${globex.url} (SQLite in ${globex.dataDir}); contact "Sales" = Gina`);
    for (const gw of [acme, globex]) say(`${gw.domain} publishes its signed manifest at https://${gw.domain}/.well-known/kontor.json`);

    say('starting Chromium for Alice (Acme) and Gina (Globex); each enrolls with a one-time code from its admin');
    const alice = await employee({
      sitePort: site.port,
      gateway: acme,
      id: 'alice',
      name: 'Alice Schmidt',
      partners: ['globex.example'],
      headless,
    });
    people.push(alice);
    const gina = await employee({
      sitePort: site.port,
      gateway: globex,
      id: 'gina',
      name: 'Gina Rossi',
      partners: ['acme.example'],
      headless,
    });
    people.push(gina);
    say('both browsers enrolled and connected to their own company gateway');

    const page = await alice.browser.ctx.newPage();
    await page.goto('https://www.globex.example/');
    say(`Alice opens ${page.url()} ("${await page.title()}")`);
    await shot(page, '1-partner-site.png');
    const sw = await alice.browser.worker();
    const tabId = await sw.evaluate(async () => (await chrome.tabs.query({ url: 'https://www.globex.example/*' }))[0]!.id!);
    const title = await waitFor(
      () => sw.evaluate((id) => chrome.action.getTitle({ tabId: id }), tabId),
      (t) => t.includes('partner'),
      15_000,
      'partner detected',
    );
    say(`Kontor's toolbar icon: "${title}"`);
    const popup = await alice.browser.openExtensionPage('popup', `?tab=${tabId}`);
    await popup.setViewportSize({ width: 380, height: 420 });
    await popup.getByTestId('partner-card').waitFor();
    await shot(popup, '2-popup-partner.png');
    await popup.getByTestId('start-contact').click();
    say('Alice clicks "Start private contact": the side panel opens next to the page');
    const panel = alice.panel;
    await panel.setViewportSize({ width: 420, height: 720 });
    await panel.reload();
    await panel.getByTestId('contact-sales').click();
    await panel.getByTestId('conversation-title').waitFor({ timeout: 30_000 });
    say(
      `encrypted conversation opened: ${await panel.getByTestId('conversation-title').textContent()}; safety fingerprint ${await panel.getByTestId('safety-fingerprint').textContent()}`,
    );
    await panel.getByTestId('composer').fill(message);
    await panel.getByTestId('composer').press('Enter');
    say(`Alice sends: "${message}"`);

    await waitFor(
      async () => (await gina.ask('channel.list', {})).conversations.length,
      (n) => n > 0,
      30_000,
      'conversation at Globex',
    );
    await gina.panel.setViewportSize({ width: 420, height: 720 });
    await gina.panel.reload();
    await gina.panel.getByTestId('conversation-item').click();
    const seen = await waitFor(
      () => shownTexts(gina.panel),
      (t) => t.includes(message),
      30_000,
      'message at Globex',
    );
    say(
      `Gina's side panel shows, decrypted: "${seen[0]}" from ${(await gina.panel.getByTestId('message').first().locator('.meta').textContent())?.trim()}`,
    );
    await shot(gina.panel, '4-partner-sidepanel.png');
    await gina.panel.getByTestId('composer').fill(reply);
    await gina.panel.getByTestId('composer').press('Enter');
    say(`Gina answers: "${reply}"`);
    await waitFor(
      () => shownTexts(panel),
      (t) => t.includes(reply),
      30_000,
      'reply at Acme',
    );
    await waitFor(
      () => panel.getByTestId('delivery').first().getAttribute('data-state'),
      (s) => s === 'delivered',
      30_000,
      'delivered',
    );
    say('Alice sees the reply; her message shows "Delivered to the partner"');
    await shot(panel, '3-sidepanel-conversation.png');
    let files = 0;
    for (const gw of gateways) {
      for (const f of readdirSync(gw.dataDir)) {
        const bytes = readFileSync(path.join(gw.dataDir, f));
        files++;
        if (bytes.includes(Buffer.from(message)) || bytes.includes(Buffer.from(reply)))
          throw new Error(`plaintext found in ${gw.domain}/${f}`);
      }
    }
    say(`checked ${files} gateway data files (SQLite database, WAL, keys): no message text in any of them`);
    if (cluster) {
      const rows = await databaseText(cluster.db.url);
      if (rows.includes(message) || rows.includes(reply)) throw new Error('plaintext found in the cluster database');
      say('checked every table of the cluster PostgreSQL database: no message text');
    }
    if (!headless && !args.includes('--exit')) {
      say('the browsers stay open; press Ctrl+C to end the demo');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
  } finally {
    await Promise.all(people.map((p) => p.browser.close()));
    await Promise.all(gateways.map((g) => (dataDir ? g.kill('SIGTERM') : g.stop())));
    for (const stop of stops) await stop();
    await site.close();
  }
}

main().then(
  () => say('done: the message arrived and was answered'),
  (error: unknown) => {
    console.error(`[demo] FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
