import { describe, expect, it } from 'vitest';
import { assemble, LIMITS, RuleLimitError, type RulesetPlan } from '../../scripts/rules/assemble';
import type { InputRule } from '../../scripts/rules/merge';

/** Rules that cannot merge (each has its own path), so each one counts. */
function pathRules(n: number, offset = 0): InputRule[] {
  return Array.from({ length: n }, (_, i) => ({
    source: 'synthetic',
    ref: `line ${i + 1}`,
    raw: { action: { type: 'block' }, condition: { urlFilter: `/ads/${offset + i}/banner` } },
  }));
}
function regexRules(n: number): InputRule[] {
  return Array.from({ length: n }, (_, i) => ({
    source: 'synthetic',
    ref: `re ${i}`,
    raw: { action: { type: 'block' }, condition: { regexFilter: `^https://t${i}\\.example/[a-z]+` } },
  }));
}
function plan(id: RulesetPlan['id'], inputs: InputRule[], enabledByDefault = true): RulesetPlan {
  return { id, category: id, enabledByDefault, sources: [], inputs };
}

describe('static rule limits', () => {
  it('accepts exactly 30,000 enabled rules', () => {
    const { rulesets } = assemble([plan('ads', pathRules(20_000)), plan('analytics', pathRules(10_000, 20_000))]);
    expect(rulesets.reduce((n, r) => n + r.merged.rules.length, 0)).toBe(LIMITS.enabledRules);
  });

  it('throws when enabled rulesets exceed 30,000 rules', () => {
    expect(() => assemble([plan('ads', pathRules(20_000)), plan('analytics', pathRules(10_001, 20_000))])).toThrow(RuleLimitError);
    expect(() => assemble([plan('ads', pathRules(30_001))])).toThrow(/30001 rules, above the limit of 30000/);
  });

  it('does not count rulesets that are off by default against the enabled limit', () => {
    expect(() => assemble([plan('ads', pathRules(20_000)), plan('social', pathRules(20_000, 20_000), false)])).not.toThrow();
  });

  it('throws when regex rules reach 1,000 in total, across rulesets', () => {
    expect(() => assemble([plan('ads', regexRules(600)), plan('analytics', regexRules(399))])).not.toThrow();
    expect(() => assemble([plan('ads', regexRules(600)), plan('analytics', regexRules(400))])).toThrow(/1000 regex rules/);
  });

  it('counts merged rules, not input lines: 100,000 host rules fit', () => {
    const hosts: InputRule[] = Array.from({ length: 100_000 }, (_, i) => ({
      source: 's',
      ref: `${i}`,
      raw: { action: { type: 'block' }, condition: { urlFilter: `||t${i}.tracker-example.com^` } },
    }));
    const { rulesets } = assemble([plan('analytics', hosts)]);
    // one rule: no limit on hosts per requestDomains rule (see MergeOptions.chunkSize)
    expect(rulesets[0]!.merged.rules.length).toBe(1);
    expect(rulesets[0]!.merged.domains.size).toBe(100_000);
  });

  it('refuses list rules at or above the allowlist priority', () => {
    const high: InputRule = {
      source: 's',
      ref: 'x',
      raw: { action: { type: 'block' }, priority: 10_000_000, condition: { urlFilter: '||x.com^' } },
    };
    expect(() => assemble([plan('ads', [high])])).toThrow(/priority/);
  });
});
