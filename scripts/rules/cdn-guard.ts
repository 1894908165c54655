/**
 * Breakage guard for the B2B list: a host rule on a shared CDN would block other companies'
 * files too. Static part (names only) and a DNS part (CNAME chains) with an injectable
 * resolver, so the unit tests need no network. Guard data: assets/lists/shared-cdns.json.
 */
import * as v from 'valibot';
import { isSameOrSubdomain } from './hosts';
import type { B2bList } from './lists';

export const SharedCdns = v.strictObject({
  $comment: v.optional(v.string()),
  version: v.literal(1),
  suffixes: v.array(v.string()),
  sharedHosts: v.array(v.string()),
  dedicated: v.array(v.strictObject({ host: v.string(), reason: v.pipe(v.string(), v.minLength(20)) })),
});
export type SharedCdns = v.InferOutput<typeof SharedCdns>;

export interface GuardHit {
  host: string;
  vendor: string;
  reason: string;
}

/** Why `host` must not be blocked whole, or undefined when it may be. */
export function sharedCdnReason(host: string, cdns: SharedCdns): string | undefined {
  if (cdns.sharedHosts.includes(host)) return `${host} is a shared CDN host`;
  for (const s of cdns.sharedHosts) if (isSameOrSubdomain(s, host)) return `${host} is a parent of the shared CDN host ${s}`;
  for (const s of cdns.suffixes) {
    if (isSameOrSubdomain(s, host)) return `${host} is the shared CDN platform ${s}${s === host ? '' : ` or a parent of it`}`;
    if (isSameOrSubdomain(host, s) && !cdns.dedicated.some((d) => d.host === host)) {
      return `${host} lives on the shared CDN platform ${s} and is not a reviewed dedicated distribution`;
    }
  }
  return undefined;
}

/**
 * Hosts a list entry blocks as a whole: its `domains`, and `urls` that name a host and nothing
 * after it (`||host^`). A URL rule with a path (`||s3.amazonaws.com/bucket/`) blocks only that path.
 */
export function wholeHostsOf(list: B2bList): Array<{ host: string; vendor: string }> {
  const out: Array<{ host: string; vendor: string }> = [];
  for (const e of list.vendors) {
    for (const host of e.domains) out.push({ host, vendor: e.vendor });
    for (const u of e.urls) {
      const m = /^\|\|([a-z0-9.-]+)(?:\^|\/)?\*?\|?$/.exec(u);
      if (m) out.push({ host: m[1]!, vendor: e.vendor });
    }
  }
  return out;
}

export function staticGuard(list: B2bList, cdns: SharedCdns): GuardHit[] {
  const hits: GuardHit[] = [];
  for (const { host, vendor } of wholeHostsOf(list)) {
    const reason = sharedCdnReason(host, cdns);
    if (reason) hits.push({ host, vendor, reason });
  }
  return hits;
}

/** Returns the CNAME targets of a name, [] when it has none; throws with `code` on DNS errors. */
export type CnameResolver = (host: string) => Promise<string[]>;

export interface DnsGuardResult {
  /** False when DNS does not answer at all here (closed network); nothing below is then known. */
  available: boolean;
  hits: GuardHit[];
  /** Hosts served through a CDN platform under their own name: fine, reported for information. */
  viaCdn: Array<{ host: string; target: string }>;
  /** Hosts whose name does not exist (NXDOMAIN): candidates for removal. */
  dead: string[];
}

const NO_SUCH_NAME = new Set(['ENOTFOUND', 'NXDOMAIN']);
const NO_DATA = new Set(['ENODATA']);

/**
 * Follows each host's CNAME chain (at most 8 steps). A chain that reaches a shared CDN host
 * fails the guard: the list would name an alias of a host many sites share. A chain that ends
 * on a platform suffix (a vendor's own CloudFront distribution behind its own name) is fine,
 * because declarativeNetRequest matches the request's name, never the address it resolves to.
 * `probe` is a name that must exist; if it does not resolve, DNS counts as unavailable.
 */
export async function dnsGuard(
  hosts: Array<{ host: string; vendor: string }>,
  cdns: SharedCdns,
  resolve: CnameResolver,
  probe = 'example.com',
): Promise<DnsGuardResult> {
  const result: DnsGuardResult = { available: true, hits: [], viaCdn: [], dead: [] };
  try {
    await resolve(probe);
  } catch (e) {
    if (!NO_DATA.has((e as { code?: string }).code ?? '')) return { ...result, available: false };
  }
  for (const { host, vendor } of hosts) {
    let name = host;
    for (let step = 0; step < 8; step++) {
      let targets: string[];
      try {
        targets = await resolve(name);
      } catch (e) {
        const code = (e as { code?: string }).code ?? '';
        if (NO_SUCH_NAME.has(code) && name === host) result.dead.push(host);
        break;
      }
      const target = targets[0]?.toLowerCase().replace(/\.$/, '');
      if (!target) break;
      if (cdns.sharedHosts.some((s) => isSameOrSubdomain(target, s))) {
        result.hits.push({ host, vendor, reason: `${host} is a CNAME of the shared CDN host ${target}` });
        break;
      }
      const platform = cdns.suffixes.find((s) => isSameOrSubdomain(target, s));
      if (platform) {
        result.viaCdn.push({ host, target });
        break;
      }
      name = target;
    }
  }
  return result;
}
