/**
 * Publishes Kontor's B2B list as a standalone filter list in the syntax uBlock Origin and
 * AdGuard read (`dist/lists/kontor-b2b.txt`, written by the build), so other blockers can
 * subscribe. The same semantics as the b2b ruleset:
 * - `domains` -> `||host^$third-party` (the vendor's own site and app keep working);
 * - `urls` (DNR urlFilter, a subset of this syntax) -> as they are, any party; a pattern that
 *   starts and ends with `/` gets a trailing `*`, because these blockers read `/.../` as a regex;
 * - `keep` -> `@@||host^` exceptions.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { coveredBy } from './hosts';
import { B2bList, readList } from './lists';

export const FILTER_LIST_FILE = 'kontor-b2b.txt';
export const FILTER_LIST_EXPIRES = '4 days';

export interface FilterListMeta {
  version: string;
  modified: Date;
  homepage: string;
}

/** `/acton/bn/tracker/` would be a regular expression to uBO and AdGuard. */
export function abpPattern(urlFilter: string): string {
  return urlFilter.length > 1 && urlFilter.startsWith('/') && urlFilter.endsWith('/') ? `${urlFilter}*` : urlFilter;
}

export function b2bFilterList(list: B2bList, meta: FilterListMeta): string {
  const all = new Set(list.vendors.flatMap((v) => v.domains));
  // A host under another listed domain is already matched by that domain's rule.
  const needed = (h: string): boolean => !coveredBy(h.slice(h.indexOf('.') + 1), all);
  const lines = [
    '[Adblock Plus 2.0]',
    '! Title: Kontor B2B identification list',
    '! Description: Blocks B2B visitor identification (reverse-IP company lookup), intent data, ABM and marketing-automation trackers. Vendor domains are blocked as third parties only: their own sites and apps keep working.',
    `! Version: ${meta.version}`,
    `! Last modified: ${meta.modified.toISOString()}`,
    `! Expires: ${FILTER_LIST_EXPIRES}`,
    '! License: GPL-3.0-or-later',
    `! Homepage: ${meta.homepage}`,
    `! Entries: ${list.vendors.length} vendors`,
  ];
  for (const v of list.vendors) {
    lines.push('!', `! ${v.vendor} (${v.company}; ${v.kind})`, `! Source: ${v.source.replace(/\s+/g, ' ')}`);
    for (const d of [...v.domains].sort()) if (needed(d)) lines.push(`||${d}^$third-party`);
    for (const u of v.urls) lines.push(abpPattern(u));
    for (const k of v.keep ?? []) lines.push(`@@||${k}^`);
  }
  return `${lines.join('\n')}\n`;
}

/** Writes `<outDir>/kontor-b2b.txt` from the repository's list; returns the file path. */
export function writeB2bFilterList(repoRoot: string, outDir: string, modified = new Date()): string {
  const list = readList(path.join(repoRoot, 'assets', 'lists', 'b2b-identification.json'), B2bList);
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string; homepage?: string };
  const stamp = modified.toISOString().slice(0, 16).replace(/[-:T]/g, '');
  const text = b2bFilterList(list, {
    version: `${pkg.version}.${stamp}`,
    modified,
    homepage: pkg.homepage ?? 'docs/blocking.md in the Kontor source',
  });
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, FILTER_LIST_FILE);
  writeFileSync(file, text);
  return file;
}
