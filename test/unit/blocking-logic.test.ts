import { describe, expect, it } from 'vitest';
import { addBlocked, badgeText, emptyRecord, MAX_HOSTS, summarize } from '../../src/background/blocking/counts';
import { buildDynamicRules, PRIORITY, rulesetCategory, rulesetPlan } from '../../src/background/blocking/rules';
import { lookupTracker, type TrackerDb } from '../../src/background/blocking/trackers';
import { isPausedIn } from '../../src/background/blocking/counts';

const db: TrackerDb = {
  version: 1,
  companies: ['Google', 'Dealfront', 'Meta'],
  domains: {
    'google-analytics.com': ['analytics', 0],
    'leadfeeder.com': ['b2b', 1],
    'lf.leadfeeder.com': ['b2b', 1],
    'facebook.net': ['social', 2],
  },
};

describe('trackers.json lookup', () => {
  it('finds a host through its parent domains, first hit wins', () => {
    expect(lookupTracker(db, 'region1.google-analytics.com')).toEqual({ category: 'analytics', company: 'Google' });
    expect(lookupTracker(db, 'google-analytics.com')).toEqual({ category: 'analytics', company: 'Google' });
    expect(lookupTracker(db, 'SC.LF.Leadfeeder.com.')).toEqual({ category: 'b2b', company: 'Dealfront' });
  });
  it('never matches lookalikes or the bare top-level label', () => {
    expect(lookupTracker(db, 'google-analytics.com.evil.test')).toBeNull();
    expect(lookupTracker(db, 'notgoogle-analytics.com')).toBeNull();
    expect(lookupTracker({ ...db, domains: { com: ['ads', 0] } }, 'x.com')).toBeNull();
  });
});

describe('per-tab counts', () => {
  it('counts per host, ignores events from before the page, groups by category and company', () => {
    let r = emptyRecord('www.business.example', 1000);
    r = addBlocked(r, 'www.google-analytics.com', 999);
    expect(r.total).toBe(0);
    for (const h of [
      'www.google-analytics.com',
      'region1.google-analytics.com',
      'sc.lf.leadfeeder.com',
      'connect.facebook.net',
      'unknown.tracker.example',
      'unknown.tracker.example',
    ])
      r = addBlocked(r, h, 1001);
    expect(r.total).toBe(6);
    const groups = summarize(r, db);
    expect(groups.map((g) => [g.category, g.count])).toEqual([
      ['analytics', 2],
      ['b2b', 1],
      ['social', 1],
      ['other', 2],
    ]);
    expect(groups[0]!.companies).toEqual([
      { name: 'Google', count: 2, hosts: ['region1.google-analytics.com', 'www.google-analytics.com'] },
    ]);
    expect(groups.at(-1)!.companies).toEqual([{ name: null, count: 2, hosts: ['unknown.tracker.example'] }]);
    expect(groups.reduce((n, g) => n + g.count, 0)).toBe(r.total);
  });
  it('caps distinct hosts but keeps the total exact', () => {
    let r = emptyRecord('a.example', 0);
    for (let i = 0; i < MAX_HOSTS + 50; i++) r = addBlocked(r, `h${i}.example`, 1);
    expect(Object.keys(r.hosts).length).toBe(MAX_HOSTS + 1);
    expect(r.total).toBe(MAX_HOSTS + 50);
  });
  it('formats the badge', () => {
    expect([0, 7, 999, 1000].map(badgeText)).toEqual(['', '7', '999', '999+']);
  });
});

describe('dynamic rules', () => {
  const none = { locked: false, extraBlock: [] as string[], extraAllow: [] as string[] };
  it('pauses a site with allowAllRequests above the allowlist', () => {
    const rules = buildDynamicRules(['www.business.example', 'www.business.example'], none);
    expect(rules).toEqual([
      {
        id: 1,
        priority: PRIORITY.pause,
        action: { type: 'allowAllRequests' },
        condition: { requestDomains: ['www.business.example'], resourceTypes: ['main_frame', 'sub_frame'] },
      },
    ]);
    expect(PRIORITY.pause).toBeGreaterThan(10_000_000);
  });
  it('does not apply pauses while the policy locks blocking; policy domains are ordered block < allow', () => {
    const block = Array.from({ length: 1500 }, (_, i) => `t${i}.example`);
    const rules = buildDynamicRules(['a.example'], { locked: true, extraBlock: block, extraAllow: ['sso.example'] });
    expect(rules.map((r) => r.action.type)).toEqual(['block', 'block', 'allow']);
    expect(rules.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(rules[0]!.condition.requestDomains.length + rules[1]!.condition.requestDomains.length).toBe(1500);
    expect(rules[0]!.condition.resourceTypes).toBeUndefined();
    expect(PRIORITY.policyAllow).toBeGreaterThan(PRIORITY.policyBlock);
    expect(PRIORITY.policyBlock).toBeGreaterThan(PRIORITY.pause);
  });
  it('switches every ruleset of a category and never the allowlist', () => {
    const ids = ['ads', 'analytics_1', 'analytics_2', 'b2b', 'social', 'urlparams', 'allow'];
    expect(rulesetCategory('analytics_2')).toBe('analytics');
    const plan = rulesetPlan(ids, { ads: true, analytics: false, b2b: true, social: true, urlparams: false });
    expect(plan.disable).toEqual(['analytics_1', 'analytics_2', 'urlparams']);
    expect(plan.enable).toEqual(['ads', 'b2b', 'social', 'allow']);
  });
  it('treats a paused parent domain as pausing its subdomains, never lookalikes', () => {
    expect(isPausedIn(['business.example'], 'www.business.example')).toBe(true);
    expect(isPausedIn(['business.example'], 'notbusiness.example')).toBe(false);
    expect(isPausedIn(['business.example'], null)).toBe(false);
  });
});
