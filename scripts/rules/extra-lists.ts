/**
 * Maintained domain lists merged into a category as third-party host blocks, beyond the
 * AdGuard browser filters. Each list must have a licence that allows shipping (GPL or
 * CC-BY-SA) and a breakage test (test/unit/rules-extra-lists.test.ts). Hosts that are, or
 * are parents of, a must-load business embed (assets/lists/must-load.json) are left out.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as v from 'valibot';
import { isHostName, isSameOrSubdomain } from './hosts';
import type { InputRule } from './merge';
import type { CategoryId, Problem, SourceInfo } from './types';

export interface ExtraList {
  id: string;
  category: CategoryId;
  /** `domains` (default): one host per line, `#` comments. `adblock`: a filter list in Adblock Plus syntax, see adblockHosts. */
  file: string;
  format?: 'domains' | 'adblock';
  source: SourceInfo;
}

export const EXTRA_LISTS: ExtraList[] = [
  {
    id: 'adguard-dns',
    category: 'ads',
    file: 'assets/lists/sources/adguard-dns-filter.domains.txt',
    source: {
      name: 'AdGuard DNS filter (ads and trackers incl. AdGuard cname-trackers), domains edition as converted by hagezi/dns-blocklists, snapshot 2022-07-24 (commit 96e9515)',
      licence: 'GPL-3.0',
      url: 'https://github.com/AdguardTeam/AdGuardSDNSFilter',
    },
  },
  {
    id: 'easyprivacy',
    category: 'analytics',
    file: 'assets/lists/sources/easylist-easyprivacy.txt',
    format: 'adblock',
    source: {
      name: 'EasyPrivacy (version 202607200541, 2026-07-20), its whole-host rules (||host^ and ||host^$third-party) without the hosts its own exceptions name',
      licence: 'GPL-3.0',
      url: 'https://easylist.to/',
    },
  },
];

export const MustLoad = v.strictObject({
  $comment: v.optional(v.string()),
  version: v.literal(1),
  hosts: v.array(
    v.strictObject({
      host: v.string(),
      kind: v.picklist([
        'chat',
        'support',
        'forms',
        'scheduling',
        'video',
        'maps',
        'meetings',
        'sign-in',
        'e-signature',
        'content',
        'reviews',
        'fraud-prevention',
        'bot-defence',
        'consent',
        'accessibility',
      ]),
      service: v.string(),
      reason: v.string(),
    }),
  ),
});
export type MustLoad = v.InferOutput<typeof MustLoad>;

export function readDomainsFile(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/**
 * The whole-host block rules of a filter list in Adblock Plus syntax: `||host^` and
 * `||host^$third-party` (every other rule has a path, a type or a site condition that a host
 * block would widen). A host is left out when one of the list's own exceptions (`@@||...`)
 * names it or a host under it: the list's authors keep something there loading.
 */
export function adblockHosts(text: string): { hosts: string[]; excepted: string[] } {
  const blocked = new Set<string>();
  // every exception host and each of its parents: a block of any of them would override it
  const shadowed = new Set<string>();
  for (const line of text.split('\n')) {
    const l = line.trim();
    const block = /^\|\|([a-z0-9.-]+)\^(?:\$third-party)?$/.exec(l);
    if (block) blocked.add(block[1]!);
    const except = /^@@\|\|([a-z0-9.-]+)/.exec(l);
    if (except) {
      const labels = except[1]!.replace(/\.$/, '').split('.');
      for (let i = 0; i < labels.length - 1; i++) shadowed.add(labels.slice(i).join('.'));
    }
  }
  const all = [...blocked];
  return { hosts: all.filter((h) => !shadowed.has(h)), excepted: all.filter((h) => shadowed.has(h)) };
}

/** The hosts a merged list blocks, before the must-load filter. */
export function listHosts(repoRoot: string, list: ExtraList): string[] {
  const file = path.join(repoRoot, list.file);
  return list.format === 'adblock' ? adblockHosts(readFileSync(file, 'utf8')).hosts : readDomainsFile(file);
}

/** The list's hosts as one third-party block input; unusable and must-load-covering hosts reported. */
export function extraListInputs(repoRoot: string, list: ExtraList, mustLoad: MustLoad, problems: Problem[]): InputRule[] {
  const source = `${list.id} (${list.file})`;
  const needed = mustLoad.hosts.map((h) => h.host);
  let invalid = 0;
  const hosts = listHosts(repoRoot, list).filter((h) => {
    if (!isHostName(h)) {
      invalid++;
      return false;
    }
    const embed = needed.find((n) => isSameOrSubdomain(n, h));
    if (embed) problems.push({ source, ref: h, reason: `left out: would block the must-load embed ${embed}` });
    return embed === undefined;
  });
  if (invalid > 0)
    problems.push({ source, ref: `${invalid} lines`, reason: 'not host names (IP addresses, wildcards or malformed), skipped' });
  return [
    {
      source,
      ref: `${hosts.length} hosts`,
      raw: { action: { type: 'block' }, priority: 1, condition: { requestDomains: hosts, domainType: 'thirdParty' } },
    },
  ];
}
