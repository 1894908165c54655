/**
 * Domain and URL helpers for policy values. Browser-safe: only the WHATWG `URL` parser, which
 * also converts internationalised names to punycode exactly as the browser will see them.
 */

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Normalises a domain name as an admin may type it: trims, lowercases, converts to punycode,
 * drops one trailing dot. Returns null for anything that is not a plain multi-label host name
 * (IP addresses, ports, paths, wildcards, user info and single labels like `intranet` are refused:
 * partner and blocking entries name registrable domains and match their subdomains).
 *
 * @example normalizeDomain(' Globex.Example. ') === 'globex.example'
 * @example normalizeDomain('bücher.example') === 'xn--bcher-kva.example'
 */
export function normalizeDomain(input: string): string | null {
  let s = input.trim().toLowerCase();
  if (s.endsWith('.')) s = s.slice(0, -1);
  // Refuse anything the URL parser would silently reinterpret as a path, port or credentials.
  if (s === '' || s.length > 253 || /[\s/\\:@?#*%[\]]/.test(s)) return null;
  let host: string; // a second trailing dot stays and fails the label check below
  try {
    host = new URL(`http://${s}/`).hostname;
  } catch {
    return null;
  }
  const labels = host.split('.');
  if (labels.length < 2 || host.length > 253) return null;
  if (!labels.every((l) => LABEL.test(l))) return null;
  // All-numeric last label means an IPv4 address (the parser turns `1.2.3.4` and `0x7f.1` into one).
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return null;
  return host;
}

/** True if `host` is `domain` or one of its subdomains (both already normalised). */
export function hostMatchesDomain(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}

// Names reserved by RFC 2606 / RFC 6761 never resolve on the public internet, so plain http to
// them can only reach a host the machine itself maps (test rigs, local development).
const DEV_SUFFIXES = ['.test', '.example', '.localhost'];

function isDevHost(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  if (/^127\.\d+\.\d+\.\d+$/.test(hostname)) return true;
  return DEV_SUFFIXES.some((suffix) => hostname.endsWith(suffix));
}

function parseUrl(input: string): URL | null {
  try {
    return new URL(input);
  } catch {
    return null;
  }
}

/**
 * A gateway base URL: https, or http only for loopback and reserved development names
 * (`localhost`, `127.x.x.x`, `[::1]`, `*.test`, `*.example`, `*.localhost`). No user info,
 * query or fragment: the extension appends its own paths.
 */
export function isGatewayUrl(input: string): boolean {
  const url = parseUrl(input);
  if (url?.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    return false;
  }
  if (input.includes('#') || input.includes('?')) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && isDevHost(url.hostname);
}

/** A public profile URL (LinkedIn, XING, the partner's own pages): https with a host name. */
export function isProfileUrl(input: string): boolean {
  const url = parseUrl(input);
  return url !== null && url.protocol === 'https:' && url.username === '' && url.password === '' && normalizeDomain(url.hostname) !== null;
}
