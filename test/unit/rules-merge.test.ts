import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mergeRuleset, type InputRule } from '../../scripts/rules/merge';
import { evaluate } from '../../scripts/rules/match';

// no '--' at the third and fourth character: such labels are reserved (xn-- is punycode, and
// an invalid one like 'xn--a' is not a host a URL can have)
const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}[a-z0-9]$/).filter((l) => l.slice(2, 4) !== '--');
const host = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom('com', 'net', 'de', 'io', 'co.uk'))
  .map(([labels, tld]) => `${labels.join('.')}.${tld}`);

function blockInputs(hosts: string[], source = 'test-list'): InputRule[] {
  return hosts.map((h, i) => ({
    source,
    ref: `line ${i + 1}`,
    raw: { id: i + 1, priority: 1, action: { type: 'block' }, condition: { urlFilter: `||${h}^` } },
  }));
}

function blocked(rules: ReturnType<typeof mergeRuleset>['rules'], url: string): boolean {
  return evaluate([{ id: 't', rules }], { url, type: 'script', initiator: 'https://www.business.example/' })?.rule.action.type === 'block';
}

describe('merging ||host^ rules into requestDomains', () => {
  it('keeps every domain of a random set matched, and matches nothing else', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(host, { minLength: 1, maxLength: 60 }),
        host,
        fc.integer({ min: 1, max: 7 }),
        (hosts, other, chunkSize) => {
          const merged = mergeRuleset(blockInputs(hosts), { chunkSize });
          for (const h of hosts) {
            expect(blocked(merged.rules, `https://${h}/collect?x=1`)).toBe(true);
            expect(blocked(merged.rules, `https://sub.${h}/p.js`)).toBe(true);
          }
          const listed = hosts.some((h) => other === h || other.endsWith(`.${h}`));
          expect(blocked(merged.rules, `https://${other}/`)).toBe(listed);
          // Merging really merges: never more rules than chunks of the input.
          expect(merged.rules.length).toBeLessThanOrEqual(Math.ceil(hosts.length / chunkSize));
          for (const r of merged.rules) expect(r.condition.requestDomains!.length).toBeLessThanOrEqual(chunkSize);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('drops a subdomain whose parent is listed with the same conditions, without losing coverage', () => {
    const merged = mergeRuleset(blockInputs(['tracker.example.com', 'example.com', 'a.b.example.com', 'other.net']));
    expect(merged.rules).toHaveLength(1);
    expect(merged.rules[0]!.condition.requestDomains).toEqual(['example.com', 'other.net']);
    expect(merged.skipped['subdomain of a listed host']).toBe(2);
    expect(blocked(merged.rules, 'https://a.b.example.com/x')).toBe(true);
  });

  it('keeps rules with different conditions in separate groups and removes exact duplicates', () => {
    const inputs: InputRule[] = [
      ...blockInputs(['a.com', 'b.com']),
      { source: 's', ref: 'r1', raw: { action: { type: 'block' }, condition: { urlFilter: '||c.com^', resourceTypes: ['image'] } } },
      { source: 's', ref: 'r2', raw: { action: { type: 'block' }, condition: { urlFilter: '||c.com/path/' } } },
      { source: 's', ref: 'r3', raw: { action: { type: 'block' }, condition: { urlFilter: '||c.com/path/' } } },
      { source: 's', ref: 'r4', raw: { action: { type: 'block' }, priority: 1, condition: { urlFilter: '||a.com^' } } },
    ];
    const merged = mergeRuleset(inputs);
    expect(merged.rules).toHaveLength(3);
    expect(merged.skipped['duplicate rule']).toBe(1);
    expect(merged.rules.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(evaluate([{ id: 't', rules: merged.rules }], { url: 'https://c.com/x.js', type: 'script' })).toBeUndefined();
    expect(evaluate([{ id: 't', rules: merged.rules }], { url: 'https://c.com/x.png', type: 'image' })?.rule.action.type).toBe('block');
  });

  it('leaves allowlisted hosts out of block rules but keeps allow rules for them', () => {
    const isAllowlisted = (h: string): boolean => h === 'js.stripe.com' || h.endsWith('.js.stripe.com');
    const merged = mergeRuleset(
      [
        ...blockInputs(['js.stripe.com', 'x.js.stripe.com', 'tracker.io']),
        { source: 's', ref: 'r', raw: { action: { type: 'block' }, condition: { urlFilter: '||js.stripe.com/v3/fingerprint' } } },
        { source: 's', ref: 'a', raw: { action: { type: 'allow' }, priority: 5, condition: { urlFilter: '||js.stripe.com^' } } },
      ],
      { isAllowlisted },
    );
    expect(merged.skipped['allowlisted host']).toBe(3);
    expect(blocked(merged.rules, 'https://js.stripe.com/v3/fingerprint')).toBe(false);
    expect(blocked(merged.rules, 'https://tracker.io/')).toBe(true);
  });
  it('drops whole-host blocks of a must-load embed or its parents, keeps tracking paths on it', () => {
    const merged = mergeRuleset(
      [
        ...blockInputs(['vivocha.com', 'x.whoson.com', 'tracker.io']),
        { source: 's', ref: 'w', raw: { action: { type: 'block' }, condition: { urlFilter: '||beacon-*.helpscout.net^' } } },
        { source: 's', ref: 'p', raw: { action: { type: 'block' }, condition: { urlFilter: '||i1.vivocha.com/a/*/api/vvct.gif?ev=' } } },
        {
          source: 's',
          ref: 'd',
          raw: { action: { type: 'block' }, condition: { requestDomains: ['whoson.com', 'other.net'], domainType: 'thirdParty' } },
        },
      ],
      { mustLoad: ['www.vivocha.com', 'beacon-v2.helpscout.net', 'whoson.com'] },
    );
    expect(merged.skipped['must-load embed']).toBe(3);
    for (const url of ['https://www.vivocha.com/a/1/api/vivocha.js', 'https://beacon-v2.helpscout.net/', 'https://whoson.com/include.js'])
      expect(blocked(merged.rules, url), url).toBe(false);
    // a list host under the embed's parent that is not the embed stays blocked, and so does a tracking path
    for (const url of [
      'https://x.whoson.com/',
      'https://i1.vivocha.com/a/1/api/vvct.gif?ev=pv',
      'https://tracker.io/',
      'https://other.net/',
    ])
      expect(blocked(merged.rules, url), url).toBe(true);
  });
});
