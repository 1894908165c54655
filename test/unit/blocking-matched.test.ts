/** Chromium's per-tab counts from getMatchedRules (src/background/blocking/matched.ts). */
import { describe, expect, it } from 'vitest';
import { DYNAMIC_RULESET, explainMatch, summarizeMatched, type MatchContext } from '../../src/background/blocking/matched';
import { strippedParams } from '../../src/background/blocking/counts';

const ctx: MatchContext = {
  categories: new Map([
    ['ads', 'ads'],
    ['analytics_1', 'analytics'],
    ['analytics_2', 'analytics'],
    ['b2b', 'b2b'],
    ['urlparams', 'urlparams'],
    ['allow', 'allow'],
  ]),
  data: {
    version: 1,
    companies: ['Google', 'Dealfront'],
    blockRules: { ads: 10, analytics: 100, b2b: 5, urlparams: 0, allow: 0 },
    redirectRules: { ads: 2, analytics: 0, b2b: 0, urlparams: 50, allow: 0 },
    rules: { analytics: { '7': 0, '90': 0 }, b2b: { '1': 1 } },
  },
  dynamicBlocks: new Set([3]),
};
const m = (rulesetId: string, ruleId: number) => ({ rulesetId, ruleId });

describe('explainMatch', () => {
  it('takes the category from the ruleset (split rulesets alike) and the company from the rule', () => {
    expect(explainMatch(m('analytics_1', 7), ctx)).toEqual({ category: 'analytics', company: 'Google' });
    expect(explainMatch(m('analytics_2', 90), ctx)).toEqual({ category: 'analytics', company: 'Google' });
    expect(explainMatch(m('analytics_2', 91), ctx)).toEqual({ category: 'analytics', company: null });
    expect(explainMatch(m('b2b', 1), ctx)).toEqual({ category: 'b2b', company: 'Dealfront' });
  });
  it('never counts allow rules, list exceptions, redirects, a pause, or unknown rulesets', () => {
    expect(explainMatch(m('allow', 1), ctx)).toBeNull();
    expect(explainMatch(m('urlparams', 4), ctx)).toBeNull();
    expect(explainMatch(m('ads', 11), ctx)).toBeNull(); // ads redirect
    expect(explainMatch(m('ads', 13), ctx)).toBeNull(); // ads exception (allow)
    expect(explainMatch(m(DYNAMIC_RULESET, 1), ctx)).toBeNull(); // allowAllRequests of a pause
    expect(explainMatch(m('_session', 1), ctx)).toBeNull();
    expect(explainMatch(m('nope', 1), ctx)).toBeNull();
  });
  it("counts the policy's dynamic block rules as other", () => {
    expect(explainMatch(m(DYNAMIC_RULESET, 3), ctx)).toEqual({ category: 'other', company: null });
  });
});

describe('summarizeMatched', () => {
  it('groups by category (largest first, other last) and company (named first)', () => {
    const matches = [
      m('analytics_1', 7),
      m('analytics_2', 90),
      m('analytics_2', 91),
      m('b2b', 1),
      m('b2b', 2),
      m('b2b', 1),
      m('ads', 1),
      m(DYNAMIC_RULESET, 3),
      m('allow', 1),
      m('urlparams', 3),
      m('ads', 12),
    ];
    const groups = summarizeMatched(matches, ctx);
    expect(groups.map((g) => [g.category, g.count])).toEqual([
      ['analytics', 3],
      ['b2b', 3],
      ['ads', 1],
      ['other', 1],
    ]);
    expect(groups[0]!.companies).toEqual([
      { name: 'Google', count: 2, hosts: [] },
      { name: null, count: 1, hosts: [] },
    ]);
    expect(groups[1]!.companies).toEqual([
      { name: 'Dealfront', count: 2, hosts: [] },
      { name: null, count: 1, hosts: [] },
    ]);
    expect(groups.reduce((n, g) => n + g.count, 0)).toBe(8);
  });
  it('is empty for no matches', () => {
    expect(summarizeMatched([], ctx)).toEqual([]);
  });
});

describe('strippedParams (badge correction for parameter strips)', () => {
  it('counts parameters removed from an otherwise unchanged URL', () => {
    expect(strippedParams('http://a.example/p?utm_source=x&utm_medium=y&id=7', 'http://a.example/p?id=7')).toBe(2);
    expect(strippedParams('http://a.example/p?gclid=1', 'http://a.example/p')).toBe(1);
    expect(strippedParams('http://a.example/p?id=7', 'http://a.example/p?id=7')).toBe(0);
  });
  it('ignores redirects by the site: other path, host, scheme, or changed and added values', () => {
    expect(strippedParams('http://a.example/p?utm_source=x', 'http://a.example/q')).toBe(0);
    expect(strippedParams('http://a.example/p?utm_source=x', 'https://a.example/p')).toBe(0);
    expect(strippedParams('http://a.example/p?utm_source=x&id=1', 'http://a.example/p?id=2')).toBe(0);
    expect(strippedParams('http://a.example/p?utm_source=x', 'http://a.example/p?session=9')).toBe(0);
    expect(strippedParams('not a url', 'http://a.example/')).toBe(0);
  });
});
