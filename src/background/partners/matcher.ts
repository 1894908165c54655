/**
 * Matches a page URL against the partner directory, locally. A partner matches on its own
 * domain and subdomains (label-wise, so `globex-example.com` and
 * `globex.example.evil.test` never match `globex.example`), or on a profile URL that the
 * policy or the partner's own signed manifest lists.
 */
import type { PartnerView } from '../../shared/protocol';
import { normalizeProfileUrl, PROFILE_HOSTS, profileHostOf } from './profiles';

export interface Match {
  partner: PartnerView;
  via: 'domain' | 'profile';
}

export interface PartnerIndex {
  match(url: string): Match | null;
  /** Match patterns for the detector: partner domains and the profile pages partners claim. */
  patterns: string[];
  /** Registrable domains whose pages can match or carry a hint: partners' and profile hosts. */
  domains: string[];
}

export function buildIndex(partners: PartnerView[]): PartnerIndex {
  const byDomain = new Map<string, PartnerView>();
  const byProfile = new Map<string, PartnerView>();
  for (const p of partners) {
    byDomain.set(p.domain, p);
    for (const profile of p.profiles) if (!byProfile.has(profile)) byProfile.set(profile, p);
  }
  return {
    domains: [...byDomain.keys(), ...PROFILE_HOSTS.map((h) => h.domain)],
    patterns: [
      ...[...byDomain.keys()].flatMap((d) => [`*://${d}/*`, `*://*.${d}/*`]),
      // A claimed profile `linkedin.com/company/globex` also appears under a locale prefix.
      ...[...byProfile.keys()].flatMap((key) => {
        const slash = key.indexOf('/');
        const host = key.slice(0, slash);
        const path = key.slice(slash);
        return [`*://*.${host}${path}*`, `*://*.${host}/*${path}*`];
      }),
    ],
    match(raw) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return null;
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
      const host = url.hostname.toLowerCase().replace(/\.$/, '');
      if (profileHostOf(host)) {
        const key = normalizeProfileUrl(raw);
        const partner = key ? byProfile.get(key) : undefined;
        return partner ? { partner, via: 'profile' } : null;
      }
      const labels = host.split('.');
      for (let i = 0; i < labels.length - 1; i++) {
        const partner = byDomain.get(labels.slice(i).join('.'));
        if (partner) return { partner, via: 'domain' };
      }
      return null;
    },
  };
}
