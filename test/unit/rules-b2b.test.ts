/**
 * Kontor's own B2B identification list, compiled on its own (no AdGuard input, so each check
 * shows what the b2b list itself does): every vendor host is blocked as a third party, never
 * as the page the employee opens, and the hosts a vendor's customers need stay reachable.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Allowlist, B2bList, allowlistPredicate, b2bInputs, readList } from '../../scripts/rules/lists';
import { mergeRuleset } from '../../scripts/rules/merge';
import { evaluate, type Ruleset } from '../../scripts/rules/match';
import { readCorpus, entityDomains } from '../../scripts/rules/corpus';
import { b2bVendorCoverage, documentedUrls } from '../../scripts/rules/b2b-coverage';
import { corpusHosts, easyprivacyHosts } from '../../scripts/rules/b2b-sources';
import type { ResourceType } from '../../scripts/rules/schema';
import type { Problem } from '../../scripts/rules/types';
import { coveredBy } from '../../scripts/rules/hosts';

const root = path.resolve(__dirname, '..', '..');
const list = readList(path.join(root, 'assets', 'lists', 'b2b-identification.json'), B2bList);
const problems: Problem[] = [];
const b2b: Ruleset = { id: 'b2b', rules: mergeRuleset(b2bInputs(list, 'b2b', problems)).rules };
const page = 'https://www.mittelstand-beispiel.de/';
const outcome = (url: string, type: ResourceType, initiator?: string) => evaluate([b2b], { url, type, initiator })?.rule.action.type;
const vendor = (name: string) => list.vendors.find((v) => v.vendor === name)!;

describe('b2b identification list', () => {
  it('parses without problems', () => {
    expect(problems).toEqual([]);
  });

  it('blocks every vendor host and its subdomains as a third party, for scripts, images and XHR', () => {
    for (const v of list.vendors) {
      for (const d of v.domains) {
        for (const type of ['script', 'image', 'xmlhttprequest', 'sub_frame'] as const) {
          expect(outcome(`https://${d}/t.js`, type, page), `${v.vendor}: ${type} ${d}`).toBe('block');
          expect(outcome(`https://x1.${d}/t.js`, type, page), `${v.vendor}: ${type} x1.${d}`).toBe('block');
        }
      }
    }
  });

  it("never blocks the vendor's own site: neither its main frame nor its first-party requests", () => {
    for (const v of list.vendors) {
      for (const d of v.domains) {
        expect(outcome(`https://${d}/`, 'main_frame'), `${v.vendor}: open ${d}`).toBeUndefined();
        expect(outcome(`https://${d}/app.js`, 'script', `https://app.${d}/`), `${v.vendor}: ${d} inside its own app`).toBeUndefined();
      }
    }
  });

  it("blocks the vendors' own domains that the issue found untouched", () => {
    for (const host of [
      'apollo.io',
      'pardot.com',
      'salesviewer.com',
      'snitcher.com',
      'vendemore.com',
      'clearbit.com',
      '6sense.com',
      'zoominfo.com',
      'kickfire.com',
      'wiredminds.de',
      'oribi.io',
      'adsymptotic.com',
      'leadforensics.com',
      'albacross.com',
      'demandbase.com',
    ]) {
      expect(outcome(`https://${host}/tag.js`, 'script', page), host).toBe('block');
    }
  });

  it('keeps forms and logos that sites embed from a blocked vendor domain', () => {
    expect(outcome('https://go.pardot.com/l/123/2026/form', 'sub_frame', page)).toBe('allow');
    expect(outcome('https://storage.pardot.com/123/whitepaper.pdf', 'other', page)).toBe('allow');
    expect(outcome('https://logo.clearbit.com/example.com', 'image', page)).toBe('allow');
    // the keep rules are narrow: the tracker hosts next to them stay blocked
    expect(outcome('https://pi.pardot.com/analytics?ver=3', 'image', page)).toBe('block');
    expect(outcome('https://x.clearbit.com/v1/company/reveal', 'xmlhttprequest', page)).toBe('block');
  });

  it("covers Lead Forensics' rotating domains: every one the HTTP Archive corpus and EasyPrivacy name", () => {
    const corpus = readCorpus(root).entities.find((e) => e.name === 'Lead Forensics')!;
    const hosts = [...entityDomains(corpus), ...(corpus.examples ?? [])];
    const cached = readFileSync(path.join(root, 'assets', 'lists', 'sources', 'easyprivacy_specific_cname_lead-forensics.txt'), 'utf8');
    const customers = new Set(vendor('Lead Forensics').leftOut);
    const easyprivacy = [...cached.matchAll(/^\|\|([a-z0-9.-]+)\^$/gm)].map((m) => m[1]!).filter((h) => !coveredBy(h, customers));
    expect(easyprivacy.length).toBeGreaterThan(500);
    const missed = [...hosts, ...easyprivacy].filter((h) => outcome(`https://${h}/js/123456.js`, 'script', page) !== 'block');
    expect(missed).toEqual([]);
    expect(vendor('Lead Forensics').domains.length).toBeGreaterThan(300);
  });

  it("leaves customers' own hosts of the EasyPrivacy CNAME file alone (first-party CNAMEs, not Lead Forensics domains)", () => {
    for (const host of ['oca.microsoft.com', 'data.diagnostics.office.com', 'partners.dudley.gov.uk', 'analytics.glance.inmobi.com']) {
      expect(outcome(`https://${host}/x`, 'xmlhttprequest', page), host).toBeUndefined();
    }
  });

  it("blocks every host the independent sources attribute to a B2B identification vendor (the bench's per-vendor figure)", () => {
    expect(documentedUrls('loads https://cdn.example.com/<id>.js, then //<cname>/x and https://t.example.org/p.')).toEqual([
      'https://cdn.example.com/x.js',
      'https://t.example.org/p',
    ]);
    const figures = b2bVendorCoverage(
      list,
      [corpusHosts(root), ...easyprivacyHosts(root)],
      [b2b],
      allowlistPredicate(readList(path.join(root, 'assets', 'lists', 'allowlist.json'), Allowlist)),
    );
    const total = figures.reduce((n, f) => n + f.total, 0);
    const blocked = figures.reduce((n, f) => n + f.blocked, 0);
    expect(total).toBeGreaterThan(800);
    expect(blocked / total).toBeGreaterThan(0.95);
    const identification = new Set(
      list.vendors.filter((v) => v.kind === 'b2b-identification' || v.kind === 'intent-data').map((v) => v.vendor),
    );
    const short = figures
      .filter((f) => identification.has(f.vendor) && f.blocked < f.total)
      .map((f) => `${f.vendor}: ${f.missed.join(' ')}`);
    // LinkedIn's corpus entity names www.linkedin.com and licdn.com, its own site and content CDN, left reachable on purpose
    expect(short).toEqual([expect.stringMatching(/^LinkedIn Insight Tag: https:\/\/licdn\.com\/ https:\/\/www\.linkedin\.com\/$/)]);
  });
});
