/**
 * rule-companies.json: which company a matched rule stands for (Chromium names rules, not
 * URLs), and the numbering that tells block, redirect and allow rules apart by id alone. Also
 * checks the shipped file against the shipped rules when a build is present.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mergeRuleset, type InputRule } from '../../scripts/rules/merge';
import { blocksFirst, buildRuleCompanies, companyResolver, ruleCompany } from '../../scripts/rules/rule-companies';
import type { DnrRule } from '../../scripts/rules/schema';
import { REPO_ROOT } from '../../scripts/rules/compile';

const companies = { Google: ['google-analytics.com', 'doubleclick.net'], Dealfront: ['leadfeeder.com'], Meta: ['facebook.net'] };
const companyOf = companyResolver(companies);
const block = (condition: DnrRule['condition'], id = 1): DnrRule => ({ id, priority: 1, action: { type: 'block' }, condition });
const input = (raw: unknown, i: number): InputRule => ({ source: 'test', ref: `line ${i}`, raw });

describe('companyResolver', () => {
  it('finds the company of a host or its nearest listed parent, never of a lookalike', () => {
    expect(companyOf('region1.google-analytics.com')).toBe('Google');
    expect(companyOf('doubleclick.net')).toBe('Google');
    expect(companyOf('sc.lf.leadfeeder.com')).toBe('Dealfront');
    expect(companyOf('google-analytics.com.evil.test')).toBeUndefined();
    expect(companyOf('notfacebook.net')).toBeUndefined();
  });
});

describe('ruleCompany', () => {
  it('names the company only when every host of a block rule belongs to it', () => {
    expect(ruleCompany(block({ requestDomains: ['google-analytics.com', 'stats.g.doubleclick.net'] }), companyOf)).toBe('Google');
    expect(ruleCompany(block({ requestDomains: ['google-analytics.com', 'leadfeeder.com'] }), companyOf)).toBeUndefined();
    expect(ruleCompany(block({ requestDomains: ['google-analytics.com', 'unknown.example'] }), companyOf)).toBeUndefined();
    expect(ruleCompany(block({ urlFilter: '||connect.facebook.net/signals/' }), companyOf)).toBe('Meta');
    expect(ruleCompany(block({ urlFilter: '||facebook.net^' }), companyOf)).toBe('Meta');
  });
  it('does not guess from unanchored filters, regexes, or non-block rules', () => {
    expect(ruleCompany(block({ urlFilter: '||facebook.netx' }), companyOf)).toBeUndefined();
    expect(ruleCompany(block({ urlFilter: 'facebook.net/tr' }), companyOf)).toBeUndefined();
    expect(ruleCompany(block({ regexFilter: '^https://facebook\\.net/' }), companyOf)).toBeUndefined();
    expect(
      ruleCompany({ id: 1, priority: 1, action: { type: 'allow' }, condition: { requestDomains: ['facebook.net'] } }, companyOf),
    ).toBeUndefined();
  });
  it('with both requestDomains and a host filter, takes the narrower host', () => {
    expect(ruleCompany(block({ requestDomains: ['example.com'], urlFilter: '||px.leadfeeder.com^' }), companyOf)).toBeUndefined();
    expect(ruleCompany(block({ requestDomains: ['leadfeeder.com'], urlFilter: '||sc.lf.leadfeeder.com/x' }), companyOf)).toBe('Dealfront');
  });
});

describe('merging keeps each company in rules of its own', () => {
  it('every merged rule is single-company or company-free, and every host stays covered', () => {
    const company = fc.constantFrom(
      'google-analytics.com',
      'doubleclick.net',
      'leadfeeder.com',
      'facebook.net',
      'other-a.example',
      'other-b.example',
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.tuple(fc.constantFrom('', 'a.', 'b.c.'), company).map(([p, d]) => p + d),
          { minLength: 1, maxLength: 30 },
        ),
        (hosts) => {
          const merged = mergeRuleset(
            hosts.map((h, i) => input({ priority: 1, action: { type: 'block' }, condition: { urlFilter: `||${h}^` } }, i)),
            { companyOf },
          );
          const covered = merged.rules.flatMap((r) => r.condition.requestDomains ?? []);
          for (const h of hosts)
            expect(
              covered.some((d) => h === d || h.endsWith(`.${d}`)),
              h,
            ).toBe(true);
          for (const r of merged.rules) {
            const owners = new Set(r.condition.requestDomains!.map(companyOf));
            expect(owners.size).toBe(1);
          }
        },
      ),
    );
  });
});

describe('blocksFirst and buildRuleCompanies', () => {
  const rules: DnrRule[] = [
    { id: 1, priority: 1, action: { type: 'allow' }, condition: { urlFilter: '||google-analytics.com/allowed' } },
    block({ requestDomains: ['leadfeeder.com'] }, 2),
    {
      id: 3,
      priority: 1,
      action: { type: 'redirect', redirect: { transform: { queryTransform: { removeParams: ['gclid'] } } } },
      condition: { urlFilter: '?gclid=' },
    },
    block({ requestDomains: ['unknown.example', 'google-analytics.com'] }, 4),
    block({ urlFilter: '||google-analytics.com/collect' }, 5),
  ];
  it('numbers block rules first, then redirects, then allow rules, keeping their order', () => {
    const ordered = blocksFirst(rules);
    expect(ordered.map((r) => [r.id, r.action.type])).toEqual([
      [1, 'block'],
      [2, 'block'],
      [3, 'block'],
      [4, 'redirect'],
      [5, 'allow'],
    ]);
    expect(ordered[0]!.condition.requestDomains).toEqual(['leadfeeder.com']);
  });
  it('maps single-company block rules by ruleset and id, with the block and redirect ranges', () => {
    const out = buildRuleCompanies(
      [
        { id: 'b2b', rules: blocksFirst(rules) },
        { id: 'urlparams', rules: blocksFirst([rules[2]!]) },
      ],
      companyOf,
    );
    expect(out.companies).toEqual(['Dealfront', 'Google']);
    expect(out.rules).toEqual({ b2b: { '1': 0, '3': 1 } });
    expect(out.blockRules).toEqual({ b2b: 3, urlparams: 0 });
    expect(out.redirectRules).toEqual({ b2b: 1, urlparams: 1 });
  });
  it('refuses rules that are not numbered block, redirect, allow', () => {
    expect(() => buildRuleCompanies([{ id: 'x', rules }], companyOf)).toThrow(/blocksFirst/);
  });
});

const built = path.join(REPO_ROOT, 'build/rules');
describe.skipIf(!existsSync(path.join(built, 'rule-companies.json')))('the built rule-companies.json', () => {
  const data = JSON.parse(readFileSync(path.join(built, 'rule-companies.json'), 'utf8')) as {
    companies: string[];
    blockRules: Record<string, number>;
    redirectRules: Record<string, number>;
    rules: Record<string, Record<string, number>>;
  };
  const meta = JSON.parse(readFileSync(path.join(built, 'rulesets.json'), 'utf8')) as { id: string; category: string; file: string }[];
  it('agrees with the shipped rules (split rulesets keep their ids) and stays small', () => {
    for (const category of new Set(meta.map((m) => m.category))) {
      const shipped = meta
        .filter((m) => m.category === category)
        .flatMap((m) => JSON.parse(readFileSync(path.join(built, m.file), 'utf8')) as DnrRule[]);
      const byId = new Map(shipped.map((r) => [r.id, r]));
      expect(byId.size).toBe(shipped.length);
      const blocks = data.blockRules[category] ?? 0;
      const redirects = data.redirectRules[category] ?? 0;
      for (const r of shipped)
        expect(r.action.type, `${category} rule ${r.id}`).toBe(
          r.id <= blocks
            ? 'block'
            : r.id <= blocks + redirects
              ? 'redirect'
              : r.action.type === 'block' || r.action.type === 'redirect'
                ? 'allow'
                : r.action.type,
        );
      for (const [id, company] of Object.entries(data.rules[category] ?? {})) {
        const rule = byId.get(Number(id));
        expect(rule?.action.type).toBe('block');
        expect(data.companies[company]).toBeDefined();
      }
    }
    expect(Object.values(data.rules).reduce((n, m) => n + Object.keys(m).length, 0)).toBeGreaterThan(100);
    expect(readFileSync(path.join(built, 'rule-companies.json')).length).toBeLessThan(50_000);
  });
});
