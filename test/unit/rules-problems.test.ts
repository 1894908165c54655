import { describe, expect, it } from 'vitest';
import { mergeRuleset } from '../../scripts/rules/merge';
import { b2bInputs, type B2bList } from '../../scripts/rules/lists';
import type { Problem } from '../../scripts/rules/types';

describe('broken input is reported with its source, and skipped', () => {
  it('reports an invalid DNR rule with list name and rule id', () => {
    const merged = mergeRuleset([
      {
        source: 'adguard:3 (Tracking Protection)',
        ref: 'rule id 42',
        raw: { action: { type: 'block' }, condition: { urlFilter: '||ok.example^' } },
      },
      {
        source: 'adguard:3 (Tracking Protection)',
        ref: 'rule id 43',
        raw: { action: { type: 'block' }, condition: { excludedInitiatorDomains: ['olx.*'], urlFilter: '||x.example^' } },
      },
      { source: 'adguard:3 (Tracking Protection)', ref: 'rule id 44', raw: { action: { type: 'explode' }, condition: {} } },
      { source: 'my-list.txt', ref: 'line 7', raw: 'not a rule' },
      { source: 'my-list.txt', ref: 'line 8', raw: { action: { type: 'block' }, condition: { regexFilter: '(unclosed' } } },
      { source: 'my-list.txt', ref: 'line 9', raw: { action: { type: 'block' }, condition: { regexFilter: '^https://(?!good)' } } },
    ]);
    expect(merged.rules).toHaveLength(1);
    expect(merged.problems.map((p) => `${p.source}|${p.ref}`)).toEqual([
      'adguard:3 (Tracking Protection)|rule id 43',
      'adguard:3 (Tracking Protection)|rule id 44',
      'my-list.txt|line 7',
      'my-list.txt|line 8',
      'my-list.txt|line 9',
    ]);
    expect(merged.problems[0]!.reason).toMatch(/excludedInitiatorDomains/);
    expect(merged.problems[3]!.reason).toMatch(/does not compile/);
    expect(merged.problems[4]!.reason).toMatch(/RE2/);
  });

  it('reports a bad host in the B2B list with file, index and vendor', () => {
    const list: B2bList = {
      version: 1,
      vendors: [
        {
          vendor: 'Good',
          company: 'G',
          kind: 'b2b-identification',
          domains: ['t.good.example'],
          urls: [],
          source: 'a sentence that is long enough',
        },
        {
          vendor: 'Bad',
          company: 'B',
          kind: 'intent-data',
          domains: ['https://bad.example/x', 'ok.bad.example'],
          urls: [],
          source: 'a sentence that is long enough',
        },
      ],
    };
    const problems: Problem[] = [];
    const inputs = b2bInputs(list, 'assets/lists/b2b-identification.json', problems);
    expect(problems).toEqual([
      { source: 'assets/lists/b2b-identification.json', ref: 'vendors[1] (Bad)', reason: 'not a host name: "https://bad.example/x"' },
    ]);
    expect(mergeRuleset(inputs).domains).toEqual(new Set(['t.good.example', 'ok.bad.example']));
  });

  it('skips unsupported actions by counting them, not silently', () => {
    const merged = mergeRuleset([
      { source: 's', ref: 'r', raw: { action: { type: 'modifyHeaders', responseHeaders: [] }, condition: { urlFilter: '||a.com^' } } },
    ]);
    expect(merged.rules).toHaveLength(0);
    expect(merged.skipped['modifyHeaders action (not shipped)']).toBe(1);
  });
});
