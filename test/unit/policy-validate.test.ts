import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostMatchesDomain, isGatewayUrl, normalizeDomain } from '../../src/shared/policy/domain';
import { validatePolicy, formatProblem, type PolicyProblem } from '../../src/shared/policy/validate';

const paths = (problems: PolicyProblem[]) => problems.map((p) => p.path);

describe('normalizeDomain', () => {
  it.each([
    ['Globex.Example', 'globex.example'],
    [' globex.example. ', 'globex.example'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['sub.globex.example', 'sub.globex.example'],
  ])('%s -> %s', (input, out) => expect(normalizeDomain(input)).toBe(out));

  it.each([
    '',
    'globex',
    '1.2.3.4',
    '0x7f.1',
    'globex.example:443',
    'https://globex.example',
    'a/b.example',
    '*.globex.example',
    'user@globex.example',
    '-bad.example',
    'a..b',
    '[::1]',
    'globex.example..',
    'a b.example',
    `${'a'.repeat(64)}.example`,
  ])('refuses %j', (input) => expect(normalizeDomain(input)).toBeNull());

  it('matches subdomains but not lookalikes', () => {
    expect(hostMatchesDomain('www.globex.example', 'globex.example')).toBe(true);
    expect(hostMatchesDomain('globex.example', 'globex.example')).toBe(true);
    expect(hostMatchesDomain('globex-example.com', 'globex.example')).toBe(false);
    expect(hostMatchesDomain('evilglobex.example', 'globex.example')).toBe(false);
  });
});

describe('isGatewayUrl', () => {
  it.each([
    'https://kontor.acme.example',
    'https://gw.acme.com:8443/base',
    'http://127.0.0.1:8080',
    'http://localhost:3000',
    'http://gw.acme.test',
    'http://gateway.acme.example',
    'http://[::1]:9000',
  ])('accepts %s', (u) => expect(isGatewayUrl(u)).toBe(true));
  it.each([
    'http://gw.acme.com',
    'ftp://gw.acme.example',
    'wss://gw.acme.example',
    'https://u:p@gw.acme.example',
    'https://gw.acme.example/?x=1',
    'https://gw.acme.example/#f',
    'gw.acme.example',
    'http://10.0.0.1',
    '',
  ])('refuses %s', (u) => expect(isGatewayUrl(u)).toBe(false));
});

describe('validatePolicy', () => {
  it('accepts a complete valid policy without problems and normalises domains', () => {
    const { policy, problems } = validatePolicy({
      organization: { domain: 'ACME.example', gateway: 'https://kontor.acme.example' },
      partners: [
        {
          domain: 'Globex.example.',
          name: ' Globex GmbH ',
          orgKey: 'sha256:0123456789abcdef0123',
          profiles: ['https://www.linkedin.com/company/globex'],
          contacts: ['sales'],
        },
      ],
      blocking: {
        categories: { ads: true, analytics: true, b2b: true, social: false, urlparams: true },
        locked: true,
        blockDomains: ['tracker.example'],
        allowDomains: ['sso.acme.example'],
      },
      discovery: { allowUserPartners: false, offerNonPartners: true },
      retentionDays: 90,
      disableOnboarding: true,
    });
    expect(problems).toEqual([]);
    expect(policy.organization?.domain).toBe('acme.example');
    expect(policy.partners?.[0]).toEqual({
      domain: 'globex.example',
      name: 'Globex GmbH',
      orgKey: 'sha256:0123456789abcdef0123',
      profiles: ['https://www.linkedin.com/company/globex'],
      contacts: ['sales'],
    });
    expect(policy.retentionDays).toBe(90);
  });

  it('reports the document itself when it is not an object', () => {
    for (const input of [null, undefined, 42, 'x', [], true]) {
      const r = validatePolicy(input);
      expect(r.policy).toEqual({});
      expect(paths(r.problems)).toEqual(['']);
      expect(formatProblem(r.problems[0]!)).toMatch(/^\(document\): /);
    }
  });

  it('reports each bad value with its JSON path and keeps the rest', () => {
    const { policy, problems } = validatePolicy({
      organization: { domain: 'acme.example', gateway: 'http://gw.acme.com' },
      partners: [
        { domain: 'globex.example' },
        { name: 'No domain' },
        { domain: 'initech.example', orgKey: 'short' },
        'umbrella.example',
        { domain: 'hooli.example', profiles: ['http://linkedin.com/company/hooli'] },
        { domain: 'GLOBEX.example' },
        { domain: 'piedpiper.example', colour: 'green' },
      ],
      blocking: {
        categories: { ads: 'yes', social: false, tracking: true },
        locked: 1,
        blockDomains: ['ok.example', 'not a domain', 7],
        allowDomains: 'sso.example',
      },
      discovery: { allowUserPartners: null },
      retentionDays: 3651,
      disableOnboarding: 'true',
      theme: 'dark',
    });
    expect(problems.map((p) => [p.path, p.code])).toEqual([
      ['organization.gateway', 'invalid'],
      ['partners[1].domain', 'required'],
      ['partners[2].orgKey', 'invalid'],
      ['partners[3]', 'invalid'],
      ['partners[4].profiles[0]', 'invalid'],
      ['partners[5]', 'duplicate'],
      ['partners[6].colour', 'unknown_key'],
      ['blocking.categories.ads', 'invalid'],
      ['blocking.categories.tracking', 'unknown_key'],
      ['blocking.locked', 'invalid'],
      ['blocking.blockDomains[1]', 'invalid'],
      ['blocking.blockDomains[2]', 'invalid'],
      ['blocking.allowDomains', 'invalid'],
      ['discovery.allowUserPartners', 'invalid'],
      ['retentionDays', 'invalid'],
      ['disableOnboarding', 'invalid'],
      ['theme', 'unknown_key'],
    ]);
    expect(policy).toEqual({
      organization: { domain: 'acme.example' },
      // Entries with an invalid value are dropped whole; an unknown key alone only is ignored.
      partners: [{ domain: 'globex.example' }, { domain: 'piedpiper.example' }],
      blocking: { categories: { social: false }, blockDomains: ['ok.example'] },
      discovery: {},
    });
    for (const p of problems) expect(p.message.length).toBeGreaterThan(5);
    expect(problems.find((p) => p.path === 'retentionDays')?.message).toBe('must be at most 3650');
    expect(problems.find((p) => p.path === 'theme')?.message).toBe('unknown key, ignored');
  });

  it('quotes keys that are not identifiers and ignores prototype keys', () => {
    const input = JSON.parse('{"__proto__": {"x": 1}, "constructor": 1, "bad key": 2, "blocking": {"toString": 3}}');
    const { policy, problems } = validatePolicy(input);
    expect(paths(problems)).toEqual(['__proto__', 'constructor', '["bad key"]', 'blocking.toString']);
    expect(policy).toEqual({ blocking: {} });
    expect(Object.getPrototypeOf(policy)).toBe(Object.prototype);
  });

  it('enforces list limits and integer days', () => {
    const many = Array.from({ length: 5001 }, (_, i) => `d${i}.example`);
    const r = validatePolicy({ blocking: { blockDomains: many }, retentionDays: 1.5 });
    expect(paths(r.problems)).toEqual(['blocking.blockDomains', 'retentionDays']);
    expect(r.problems[0]?.message).toBe('must have at most 5000 entries');
    expect(r.policy).toEqual({ blocking: {} });
  });

  it('is idempotent: validating a validated policy changes nothing', () => {
    const first = validatePolicy({ partners: [{ domain: 'Bücher.example.', name: ' B ' }], blocking: { allowDomains: ['A.example'] } });
    const second = validatePolicy(first.policy);
    expect(second.problems).toEqual([]);
    expect(second.policy).toEqual(first.policy);
  });

  it('never throws, always returns a policy that validates cleanly (fuzz)', () => {
    const policyLike = fc.record(
      {
        organization: fc.anything(),
        partners: fc.oneof(
          fc.array(
            fc.record(
              { domain: fc.oneof(fc.domain(), fc.string()), name: fc.anything(), orgKey: fc.string(), profiles: fc.anything() },
              { requiredKeys: [] },
            ),
          ),
          fc.anything(),
        ),
        blocking: fc.oneof(
          fc.record(
            {
              categories: fc.dictionary(fc.string(), fc.anything()),
              locked: fc.anything(),
              blockDomains: fc.array(fc.oneof(fc.domain(), fc.string())),
            },
            { requiredKeys: [] },
          ),
          fc.anything(),
        ),
        retentionDays: fc.oneof(fc.integer(), fc.double(), fc.anything()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.anything({ withNullPrototype: true, withObjectString: true }), fc.jsonValue(), policyLike), (input) => {
        const { policy, problems } = validatePolicy(input);
        expect(Array.isArray(problems)).toBe(true);
        for (const p of problems) expect(typeof p.path).toBe('string');
        expect(validatePolicy(policy).problems).toEqual([]);
      }),
      { numRuns: 2000 },
    );
  });

  it('survives hostile objects (throwing getters)', () => {
    const hostile = {
      get partners() {
        throw new Error('boom');
      },
    };
    const r = validatePolicy(hostile);
    expect(r.policy).toEqual({});
    expect(r.problems).toHaveLength(1);
  });
});
