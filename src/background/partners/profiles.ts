/**
 * Public company profile URLs (LinkedIn, XING) in one canonical form, so a profile a
 * manifest or policy lists matches the page whatever scheme, `www.`/country subdomain,
 * locale prefix, trailing slash, query or fragment the browser shows.
 *
 * @example normalizeProfileUrl('https://de.linkedin.com/company/Globex/?trk=x') === 'linkedin.com/company/globex'
 */

interface ProfileHost {
  /** registrable domain */
  domain: string;
  /** first path segment(s) that name a company page */
  kinds: string[];
}

export const PROFILE_HOSTS: ProfileHost[] = [
  { domain: 'linkedin.com', kinds: ['company', 'showcase', 'school'] },
  { domain: 'xing.com', kinds: ['pages', 'companies'] },
];

const LOCALE = /^[a-z]{2}([-_][a-z]{2})?$/;

export function profileHostOf(hostname: string): ProfileHost | undefined {
  const host = hostname.toLowerCase();
  return PROFILE_HOSTS.find((p) => host === p.domain || host.endsWith(`.${p.domain}`));
}

export function normalizeProfileUrl(input: string): string | null {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  const host = profileHostOf(url.hostname);
  if (!host) return null;
  const segments = url.pathname.toLowerCase().split('/').filter(Boolean);
  if (segments[0] && LOCALE.test(segments[0]) && !host.kinds.includes(segments[0])) segments.shift();
  const [kind, slug] = segments;
  if (!kind || !slug || !host.kinds.includes(kind)) return null;
  return `${host.domain}/${kind}/${decodeURIComponent(slug)}`;
}
