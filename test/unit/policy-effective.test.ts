import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETENTION_DAYS,
  effectiveBlocking,
  effectiveDiscovery,
  effectiveSettings,
  mergePartners,
} from '../../src/shared/policy/effective';
import { CATEGORIES } from '../../src/shared/blocking/categories';

describe('effectiveBlocking', () => {
  it('without a policy: everything on, nothing locked', () => {
    const b = effectiveBlocking({});
    expect(b.categories).toEqual({ ads: true, analytics: true, b2b: true, social: true, urlparams: true });
    expect(b).toMatchObject({ locked: false, lockedCategories: [], extraBlock: [], extraAllow: [] });
  });

  it('unlocked policy categories are defaults the employee may override', () => {
    const b = effectiveBlocking({ blocking: { categories: { social: false, ads: false } } }, { categories: { ads: true } });
    expect(b.categories).toMatchObject({ ads: true, social: false, analytics: true });
    expect(b.lockedCategories).toEqual([]);
  });

  it('locked policy fixes every category (policy value, else default) over the employee choice', () => {
    const b = effectiveBlocking(
      { blocking: { locked: true, categories: { social: false } } },
      { categories: { social: true, ads: false } },
    );
    expect(b.categories).toMatchObject({ social: false, ads: true });
    expect(b.locked).toBe(true);
    expect(b.lockedCategories).toEqual([...CATEGORIES]);
  });

  it('allow wins over block for the same domain', () => {
    const b = effectiveBlocking({ blocking: { blockDomains: ['a.example', 'b.example'], allowDomains: ['b.example'] } });
    expect(b.extraBlock).toEqual(['a.example']);
    expect(b.extraAllow).toEqual(['b.example']);
  });
});

describe('discovery, partners, settings and locks', () => {
  it('discovery: policy values fix, defaults allow', () => {
    expect(effectiveDiscovery({})).toEqual({ allowUserPartners: true, offerNonPartners: true });
    expect(effectiveDiscovery({}, { offerNonPartners: false }).offerNonPartners).toBe(false);
    expect(effectiveDiscovery({ discovery: { offerNonPartners: true } }, { offerNonPartners: false }).offerNonPartners).toBe(true);
  });

  it('policy partners win; employee partners hidden when not allowed', () => {
    const user = [
      { domain: 'globex.example', note: 'mine' },
      { domain: 'initech.example', note: 'mine' },
    ];
    const open = mergePartners({ partners: [{ domain: 'globex.example', name: 'Globex' }] }, user);
    expect(open.policy.map((p) => p.domain)).toEqual(['globex.example']);
    expect(open.user.map((p) => p.domain)).toEqual(['initech.example']);
    expect(open.hidden.map((p) => p.domain)).toEqual(['globex.example']);
    const closed = mergePartners({ discovery: { allowUserPartners: false } }, user);
    expect(closed.user).toEqual([]);
    expect(closed.hidden).toHaveLength(2);
  });

  it('locks map names exactly what the policy fixed', () => {
    const none = effectiveSettings({}, { gateway: 'https://gw.me.example', retentionDays: 30 });
    expect(Object.values(none.locks).every((v) => v === false)).toBe(true);
    expect(none.organization.gateway).toBe('https://gw.me.example');
    expect(none.retentionDays).toBe(30);
    expect(none.showOnboarding).toBe(true);

    const s = effectiveSettings(
      {
        organization: { gateway: 'https://kontor.acme.example' },
        blocking: { locked: true },
        retentionDays: 7,
        disableOnboarding: true,
        discovery: { allowUserPartners: false },
      },
      { gateway: 'https://other.example', retentionDays: 30 },
    );
    expect(s.organization.gateway).toBe('https://kontor.acme.example');
    expect(s.retentionDays).toBe(7);
    expect(s.showOnboarding).toBe(false);
    expect(s.locks).toEqual({
      'blocking.pause': true,
      'blocking.categories.ads': true,
      'blocking.categories.analytics': true,
      'blocking.categories.b2b': true,
      'blocking.categories.social': true,
      'blocking.categories.urlparams': true,
      'organization.gateway': true,
      'discovery.allowUserPartners': true,
      'discovery.offerNonPartners': false,
      retentionDays: true,
      onboarding: true,
    });
    expect(effectiveSettings({}).retentionDays).toBe(DEFAULT_RETENTION_DAYS);
  });
});
