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
  /** Domains format: one host per line, `#` comments. */
  file: string;
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

/** The list's hosts as one third-party block input; unusable and must-load-covering hosts reported. */
export function extraListInputs(repoRoot: string, list: ExtraList, mustLoad: MustLoad, problems: Problem[]): InputRule[] {
  const source = `${list.id} (${list.file})`;
  const needed = mustLoad.hosts.map((h) => h.host);
  let invalid = 0;
  const hosts = readDomainsFile(path.join(repoRoot, list.file)).filter((h) => {
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
