/**
 * Kontor's own reviewed list files in assets/lists/: schemas, loading, and conversion into
 * compiler input. A malformed entry is reported with its file and index, never dropped silently.
 */
import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import { PRIORITY } from '../../src/shared/blocking/priority';
import { coveredBy, isHostName } from './hosts';
import type { InputRule } from './merge';
import { RESOURCE_TYPES } from './schema';
import type { Problem } from './types';

/** Priority of the allowlist: above every list rule (the ladder: src/shared/blocking/priority.ts). */
export const ALLOW_PRIORITY = PRIORITY.allowlist;

const Text = v.pipe(v.string(), v.minLength(1));

export const B2bList = v.strictObject({
  $comment: v.optional(v.string()),
  version: v.literal(1),
  vendors: v.array(
    v.strictObject({
      vendor: Text,
      company: Text,
      kind: v.picklist(['b2b-identification', 'intent-data', 'abm-personalisation', 'marketing-automation']),
      domains: v.array(v.string()),
      urls: v.array(v.string()),
      /** Hosts under `domains` that sites embed for a real need (forms, logos): they stay reachable. */
      keep: v.optional(v.array(v.string())),
      /** Domains that sources attribute to the vendor but that were reviewed and are not blocked (reason in `source`). */
      leftOut: v.optional(v.array(v.string())),
      source: v.pipe(v.string(), v.minLength(20, 'every entry needs a source or reason')),
    }),
  ),
});
export type B2bList = v.InferOutput<typeof B2bList>;

export const Allowlist = v.strictObject({
  $comment: v.optional(v.string()),
  version: v.literal(1),
  entries: v.array(
    v.strictObject({
      kind: v.picklist(['sso', 'payments', 'captcha', 'cdn', 'fonts', 'consent']),
      service: Text,
      hosts: v.array(v.string()),
      urls: v.array(v.string()),
      reason: v.pipe(v.string(), v.minLength(20, 'every entry needs a reason')),
    }),
  ),
  neverBlockWhole: v.strictObject({ domains: v.array(v.string()), reason: Text }),
});
export type Allowlist = v.InferOutput<typeof Allowlist>;

export const TrackingSupplement = v.strictObject({
  $comment: v.optional(v.string()),
  version: v.literal(1),
  entries: v.array(
    v.strictObject({
      hosts: v.pipe(v.array(v.string()), v.minLength(1)),
      company: Text,
      category: v.picklist(['ads', 'analytics', 'social']),
      source: v.pipe(v.string(), v.minLength(20, 'every entry needs a source or reason')),
    }),
  ),
});
export type TrackingSupplement = v.InferOutput<typeof TrackingSupplement>;

/** Third-party host blocks from the supplement for one category. */
export function supplementInputs(list: TrackingSupplement, category: string, source: string, problems: Problem[]): InputRule[] {
  const out: InputRule[] = [];
  list.entries.forEach((entry, i) => {
    if (entry.category !== category) return;
    const ref = `entries[${i}] (${entry.company})`;
    const hosts = entry.hosts.filter((h) => {
      const ok = isHostName(h);
      if (!ok) problems.push({ source, ref, reason: `not a host name: ${JSON.stringify(h)}` });
      return ok;
    });
    if (hosts.length > 0)
      out.push({
        source,
        ref,
        raw: { action: { type: 'block' }, priority: 1, condition: { requestDomains: hosts, domainType: 'thirdParty' } },
      });
  });
  return out;
}

export const CompanyList = v.strictObject({
  $comment: v.optional(v.string()),
  version: v.literal(1),
  companies: v.record(v.string(), v.array(v.string())),
});
export type CompanyList = v.InferOutput<typeof CompanyList>;

export class ListFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ListFileError';
  }
}

/** Reads and validates a whole list file; a file that does not parse fails the build. */
export function readList<S extends v.GenericSchema>(file: string, schema: S): v.InferOutput<S> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ListFileError(file, (e as Error).message);
  }
  const r = v.safeParse(schema, json);
  if (!r.success) {
    const i = r.issues[0];
    throw new ListFileError(file, `${i.path?.map((p) => String(p.key)).join('.') ?? ''}: ${i.message}`);
  }
  return r.output;
}

/** Priority of a vendor's `keep` hosts: just above the b2b list's own blocks, far below the allowlist. */
export const B2B_KEEP_PRIORITY = 2;

/**
 * Block rules for the b2b ruleset: host rules third-party only, URL patterns any party; a
 * vendor's `keep` hosts become allow rules that beat only blocks of priority 1.
 */
export function b2bInputs(list: B2bList, source: string, problems: Problem[]): InputRule[] {
  const out: InputRule[] = [];
  list.vendors.forEach((vendor, i) => {
    const ref = `vendors[${i}] (${vendor.vendor})`;
    const valid = (d: string): boolean => {
      const ok = isHostName(d);
      if (!ok) problems.push({ source, ref, reason: `not a host name: ${JSON.stringify(d)}` });
      return ok;
    };
    const hosts = vendor.domains.filter(valid);
    if (hosts.length > 0) {
      out.push({
        source,
        ref,
        raw: { action: { type: 'block' }, priority: 1, condition: { requestDomains: hosts, domainType: 'thirdParty' } },
      });
    }
    for (const urlFilter of vendor.urls)
      out.push({ source, ref, raw: { action: { type: 'block' }, priority: 1, condition: { urlFilter } } });
    const keep = (vendor.keep ?? []).filter(valid);
    if (keep.length > 0) {
      out.push({ source, ref, raw: { action: { type: 'allow' }, priority: B2B_KEEP_PRIORITY, condition: { requestDomains: keep } } });
    }
  });
  return out;
}

/**
 * Every type both browsers know: Firefox's DNR has no `webtransport` or `webbundle` and drops a
 * rule that names an unknown type, which would silently disable an allow rule there.
 */
const ALL_TYPES = RESOURCE_TYPES.filter((t) => t !== 'webtransport' && t !== 'webbundle');

/** Allow rules for the always-on ruleset; they also cover top-level navigations. */
export function allowInputs(list: Allowlist, source: string, problems: Problem[]): InputRule[] {
  const out: InputRule[] = [];
  list.entries.forEach((entry, i) => {
    const ref = `entries[${i}] (${entry.service})`;
    const hosts = entry.hosts.filter((h) => {
      const ok = isHostName(h);
      if (!ok) problems.push({ source, ref, reason: `not a host name: ${JSON.stringify(h)}` });
      return ok;
    });
    const base = { action: { type: 'allow' }, priority: ALLOW_PRIORITY };
    if (hosts.length > 0) out.push({ source, ref, raw: { ...base, condition: { requestDomains: hosts, resourceTypes: ALL_TYPES } } });
    for (const urlFilter of entry.urls) out.push({ source, ref, raw: { ...base, condition: { urlFilter, resourceTypes: ALL_TYPES } } });
  });
  return out;
}

/** Compile-time half of the allowlist: hosts no block rule may target. */
export function allowlistPredicate(list: Allowlist): (host: string) => boolean {
  const hosts = new Set(list.entries.flatMap((e) => e.hosts));
  const whole = new Set(list.neverBlockWhole.domains);
  return (host) => whole.has(host) || coveredBy(host, hosts);
}
