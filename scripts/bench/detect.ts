/**
 * `npm run bench -- detect`: what Kontor's partner detector costs a page. Loads a large,
 * real-world-sized company page (about 20,000 elements, several JSON-LD blocks) in headless
 * Chromium with Kontor, profiles the page's main thread with the V8 sampling profiler and
 * sums the time spent in content.js frames. Partner page: on the partner's own domain.
 * Non-partner page: a LinkedIn-style company page of a company that is not a partner, and an
 * ordinary non-partner company site (the detector is registered only for partner domains
 * and claimed profile pages, so it is not injected there; the measurement shows what that
 * costs). Partner pages: the partner's own site, and its claimed LinkedIn page.
 * Also reports the content-script bundle size.
 * Keys: median_ms_nonpartner, p95_ms_nonpartner, median_ms_nonpartner_site,
 * median_ms_partner, p95_ms_partner, median_ms_partner_profile, bundle_bytes.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import { build, root } from '../build';
import { launchChromium } from '../../test/support/chromium';
import { createOrg, publish } from '../../test/support/orgs';
import { installChromiumPolicy } from '../../test/support/policy';
import { waitFor } from '../../test/support/poll';
import { startSiteServer } from '../../test/support/site-server';

const RUNS = Number(process.env.BENCH_RUNS ?? 25);
const log = (s: string) => process.stderr.write(`[bench detect] ${s}\n`);

function bigPage(title: string, website: string): string {
  const rows = Array.from(
    { length: 2500 },
    (_, i) =>
      `<li class="update"><div class="card"><h3>Update ${i}</h3><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit ${i}.</p><a href="/posts/${i}">Read more</a></div></li>`,
  ).join('\n');
  const ld = Array.from(
    { length: 5 },
    (_, i) =>
      `<script type="application/ld+json">${JSON.stringify({ '@context': 'https://schema.org', '@type': i === 0 ? 'Organization' : 'WebPage', name: `${title} ${i}`, url: website, sameAs: [`https://www.xing.com/pages/x${i}`] })}</script>`,
  ).join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>${ld}</head><body><main><h1>${title}</h1><a data-tracking-control-name="about_website" href="${website}">${website}</a><ul>${rows}</ul></main></body></html>`;
}

interface ProfileNode {
  id: number;
  callFrame: { url: string };
  children?: number[];
}

async function contentScriptMs(page: Page, cdp: CDPSession, url: string): Promise<number> {
  await cdp.send('Profiler.start');
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(400); // document_idle + the detector's message round trip
  const { profile } = (await cdp.send('Profiler.stop')) as unknown as {
    profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  };
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const inContent = new Map<number, boolean>();
  const isContent = (id: number): boolean => {
    if (inContent.has(id)) return inContent.get(id)!;
    const node = byId.get(id);
    const hit = !!node && (node.callFrame.url.endsWith('/content.js') || (parent.has(id) && isContent(parent.get(id)!)));
    inContent.set(id, hit);
    return hit;
  };
  let us = 0;
  profile.samples.forEach((id, i) => {
    if (isContent(id)) us += profile.timeDeltas[i] ?? 0;
  });
  return us / 1000;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function main(): Promise<void> {
  await build({ quiet: true });
  const site = await startSiteServer();
  const globex = await createOrg('globex.example', 'Globex GmbH', { profiles: ['https://www.linkedin.com/company/globex'] });
  publish(site, 'globex.example', () => globex.manifest);
  site.route('www.globex.example', '/big', () => ({ type: 'text/html', body: bigPage('Globex GmbH', 'https://www.globex.example/') }));
  site.route('www.initech.example', '/big', () => ({ type: 'text/html', body: bigPage('Initech AG', 'https://www.initech.example/') }));
  site.route('www.linkedin.com', '/company/globex/', () => ({
    type: 'text/html',
    body: bigPage('Globex GmbH | LinkedIn', 'https://www.globex.example/'),
  }));
  site.route('www.linkedin.com', '/company/initech/', () => ({
    type: 'text/html',
    body: bigPage('Initech AG | LinkedIn', 'https://www.initech.example/'),
  }));
  const policy = installChromiumPolicy(
    { partners: [{ domain: 'globex.example', name: 'Globex GmbH', orgKey: globex.fingerprint.replace(/ /g, '') }] },
    'kontor-bench',
  );
  const browser = await launchChromium({ sitePort: site.port });
  try {
    const page = await browser.ctx.newPage();
    const cdp = await browser.ctx.newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
    // Wait until the policy partner is known, so its domain has the detector registered.
    const sw = await browser.worker();
    await waitFor(
      () => sw.evaluate(async () => (await chrome.scripting.getRegisteredContentScripts()).length),
      (n) => n > 0,
      20_000,
      'the detector registered',
    );
    const partner: number[] = [];
    const partnerProfile: number[] = [];
    const nonpartner: number[] = [];
    const nonpartnerSite: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      partner.push(await contentScriptMs(page, cdp, 'https://www.globex.example/big'));
      partnerProfile.push(await contentScriptMs(page, cdp, 'https://www.linkedin.com/company/globex/'));
      nonpartner.push(await contentScriptMs(page, cdp, 'https://www.linkedin.com/company/initech/'));
      nonpartnerSite.push(await contentScriptMs(page, cdp, 'https://www.initech.example/big'));
    }
    log(`partner site (ms): ${partner.map((x) => x.toFixed(2)).join(' ')}`);
    log(`partner profile (ms): ${partnerProfile.map((x) => x.toFixed(2)).join(' ')}`);
    log(`non-partner profile (ms): ${nonpartner.map((x) => x.toFixed(2)).join(' ')}`);
    log(`non-partner site (ms): ${nonpartnerSite.map((x) => x.toFixed(2)).join(' ')}`);
    const result = {
      runs: RUNS,
      median_ms_nonpartner: +pct(nonpartner, 50).toFixed(3),
      p95_ms_nonpartner: +pct(nonpartner, 95).toFixed(3),
      median_ms_nonpartner_site: +pct(nonpartnerSite, 50).toFixed(3),
      median_ms_partner_profile: +pct(partnerProfile, 50).toFixed(3),
      median_ms_partner: +pct(partner, 50).toFixed(3),
      p95_ms_partner: +pct(partner, 95).toFixed(3),
      bundle_bytes: statSync(path.join(root, 'dist/chromium/content.js')).size,
    };
    console.log(JSON.stringify(result));
  } finally {
    await browser.close();
    policy.remove();
    await site.close();
  }
}

await main();
