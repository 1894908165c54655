/**
 * A small declarativeNetRequest evaluator for the rule subset Kontor ships, following the
 * Chromium documentation of urlFilter syntax, default resource types and action precedence.
 * Used by unit tests and the fixture checks to ask "would this request be blocked?" without a
 * browser; the browser tests remain the ground truth.
 */
import type { DnrRule, ResourceType } from './schema';
import { coveredBy, isSameOrSubdomain, siteOf } from './hosts';

export interface Request {
  url: string;
  type: ResourceType;
  /** Origin or URL of the document that made the request; absent for typed navigations. */
  initiator?: string;
  method?: string;
}

export interface Match {
  ruleset: string;
  rule: DnrRule;
}

export interface Ruleset {
  id: string;
  rules: readonly DnrRule[];
}

const patternCache = new Map<string, RegExp>();

/** urlFilter -> RegExp: `||` host anchor, `|` start/end anchor, `*` wildcard, `^` separator. */
export function urlFilterRegExp(filter: string, caseSensitive = false): RegExp {
  const key = `${caseSensitive ? 1 : 0}${filter}`;
  const hit = patternCache.get(key);
  if (hit) return hit;
  let s = filter;
  let prefix = '';
  let suffix = '';
  if (s.startsWith('||')) {
    prefix = '^[a-z][a-z0-9+.-]*:\\/\\/(?:[^/?#@]*@)?(?:[^/?#]*\\.)?';
    s = s.slice(2);
  } else if (s.startsWith('|')) {
    prefix = '^';
    s = s.slice(1);
  }
  if (s.endsWith('|')) {
    suffix = '$';
    s = s.slice(0, -1);
  }
  const body = [...s]
    .map((ch) => {
      if (ch === '*') return '.*';
      if (ch === '^') return '(?:[^a-zA-Z0-9_.%-]|$)';
      return ch.replace(/[.+?${}()|[\]\\/]/g, '\\$&');
    })
    .join('');
  const re = new RegExp(prefix + body + suffix, caseSensitive ? '' : 'i');
  patternCache.set(key, re);
  return re;
}

function regexOf(source: string, caseSensitive = false): RegExp {
  const key = `re${caseSensitive ? 1 : 0}${source}`;
  let re = patternCache.get(key);
  if (!re) patternCache.set(key, (re = new RegExp(source, caseSensitive ? '' : 'i')));
  return re;
}

const literals = new Map<string, string>();

function literalOf(filter: string): string {
  let lit = literals.get(filter);
  if (lit === undefined) {
    lit = filter
      .toLowerCase()
      .split(/[*^|]+/)
      .reduce((a, b) => (b.length > a.length ? b : a), '');
    literals.set(filter, lit);
  }
  return lit;
}

function hostOf(url: string): string {
  return new URL(url).hostname.toLowerCase();
}

const domainSets = new WeakMap<readonly string[], Set<string>>();

/** Host is one of the listed domains or a subdomain of one (sets cached per list). */
function domainListHas(list: readonly string[] | undefined, host: string): boolean {
  if (list === undefined) return false;
  if (list.length < 8) return list.some((d) => isSameOrSubdomain(host, d));
  let set = domainSets.get(list);
  if (!set) domainSets.set(list, (set = new Set(list)));
  return coveredBy(host, set);
}

interface Prepared extends Request {
  host: string;
  lowerUrl: string;
  initiatorHost: string | undefined;
}

function prepare(req: Request): Prepared {
  return {
    ...req,
    host: hostOf(req.url),
    lowerUrl: req.url.toLowerCase(),
    initiatorHost: req.initiator ? hostOf(req.initiator) : undefined,
  };
}

export function ruleMatches(rule: DnrRule, request: Request | Prepared): boolean {
  const req = 'host' in request ? request : prepare(request);
  const c = rule.condition;
  const host = req.host;
  const types = c.resourceTypes;
  if (types ? !types.includes(req.type) : (c.excludedResourceTypes ?? ['main_frame']).includes(req.type)) return false;
  if (c.requestDomains && !domainListHas(c.requestDomains, host)) return false;
  if (domainListHas(c.excludedRequestDomains, host)) return false;
  const initiatorHost = req.initiatorHost;
  if (c.initiatorDomains && (!initiatorHost || !domainListHas(c.initiatorDomains, initiatorHost))) return false;
  if (initiatorHost && domainListHas(c.excludedInitiatorDomains, initiatorHost)) return false;
  if (c.domainType) {
    // Navigations without an initiator are first-party by definition.
    const third = initiatorHost !== undefined && siteOf(initiatorHost) !== siteOf(host);
    if ((c.domainType === 'thirdParty') !== third) return false;
  }
  if (c.requestMethods && !c.requestMethods.includes((req.method ?? 'get').toLowerCase() as never)) return false;
  if (c.urlFilter !== undefined) {
    // Cheap substring test first: most rules fail on their longest literal part.
    if (!req.lowerUrl.includes(literalOf(c.urlFilter))) return false;
    if (!urlFilterRegExp(c.urlFilter, c.isUrlFilterCaseSensitive).test(req.url)) return false;
  }
  if (c.regexFilter !== undefined && !regexOf(c.regexFilter, c.isUrlFilterCaseSensitive).test(req.url)) return false;
  return true;
}

/** Chromium's tie-break among equal priorities. */
const ACTION_RANK: Record<string, number> = { allow: 5, allowAllRequests: 4, block: 3, upgradeScheme: 2, redirect: 1 };

/** The winning rule across all rulesets, or undefined when nothing matches. */
export function evaluate(rulesets: readonly Ruleset[], request: Request): Match | undefined {
  const req = prepare(request);
  let best: Match | undefined;
  for (const rs of rulesets) {
    for (const rule of rs.rules) {
      if (!ruleMatches(rule, req)) continue;
      if (!best || outranks(rule, best.rule)) best = { ruleset: rs.id, rule };
    }
  }
  return best;
}

function outranks(a: DnrRule, b: DnrRule): boolean {
  const pa = a.priority ?? 1;
  const pb = b.priority ?? 1;
  if (pa !== pb) return pa > pb;
  return (ACTION_RANK[a.action.type] ?? 0) > (ACTION_RANK[b.action.type] ?? 0);
}

/** The URL a redirect rule's transform produces (query transforms only, as Kontor ships). */
export function applyRedirect(url: string, rule: DnrRule): string {
  if (rule.action.type !== 'redirect') return url;
  const t = rule.action.redirect.transform;
  const u = new URL(url);
  if ('query' in t) {
    u.search = t.query;
    return u.toString();
  }
  for (const p of t.queryTransform.removeParams ?? []) u.searchParams.delete(p);
  return u.toString();
}
