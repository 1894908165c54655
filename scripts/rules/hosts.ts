/** Host-name helpers shared by the compiler, the matcher and tests. */

const HOST = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))+$/;
/** Endings that look like a TLD but are file extensions in unanchored list patterns. */
const FILE_ENDINGS = new Set([
  'js',
  'css',
  'gif',
  'png',
  'jpg',
  'jpeg',
  'svg',
  'webp',
  'html',
  'htm',
  'php',
  'ico',
  'json',
  'swf',
  'mp4',
  'txt',
  'xml',
  'aspx',
  'asp',
  'jsp',
  'cgi',
  'pl',
]);

/** A lower-case DNS name with at least two labels, no IP address, no wildcard. */
export function isHostName(s: string): boolean {
  if (!HOST.test(s)) return false;
  const tld = s.slice(s.lastIndexOf('.') + 1);
  if (/^[0-9]+$/.test(tld)) return false;
  return !FILE_ENDINGS.has(tld);
}

/** `a.b.c.com` -> `b.c.com`, `c.com`, `com` (proper suffixes at label boundaries). */
export function* parentDomains(host: string): Generator<string> {
  let i = host.indexOf('.');
  while (i !== -1) {
    yield host.slice(i + 1);
    i = host.indexOf('.', i + 1);
  }
}

/** True when `host` is `domain` or a subdomain of it. */
export function isSameOrSubdomain(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}

/** True when `host` or one of its parents is in `set`. */
export function coveredBy(host: string, set: ReadonlySet<string>): boolean {
  if (set.has(host)) return true;
  for (const p of parentDomains(host)) if (set.has(p)) return true;
  return false;
}

/** Rough registrable domain (last two labels, three for common second-level ccTLD zones). */
export function siteOf(host: string): string {
  const labels = host.split('.');
  const n = labels.length;
  if (n <= 2) return host;
  const sld = labels[n - 2] ?? '';
  const take = ['co', 'com', 'org', 'net', 'ac', 'gov', 'ne', 'or'].includes(sld) && (labels[n - 1] ?? '').length === 2 ? 3 : 2;
  return labels.slice(-take).join('.');
}
