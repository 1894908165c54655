/**
 * Prebuilt AdGuard DNR rulesets from `@adguard/dnr-rulesets` (GPL-3.0, build-time only).
 * Rule 0 of each file is AdGuard's metadata carrier (`dummy.rule.adguard.com`), not a rule.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { InputRule } from './merge';
import type { CategoryId, SourceInfo } from './types';

export interface AdguardFilter {
  id: number;
  name: string;
  category: CategoryId;
}

/** Which AdGuard filter feeds which Kontor category (names from dist/filters/filters_i18n.json). */
export const ADGUARD_FILTERS: AdguardFilter[] = [
  { id: 2, name: 'AdGuard Base filter', category: 'ads' },
  { id: 3, name: 'AdGuard Tracking Protection filter', category: 'analytics' },
  { id: 4, name: 'AdGuard Social Media filter', category: 'social' },
  { id: 17, name: 'AdGuard URL Tracking filter', category: 'urlparams' },
];

export function adguardDir(repoRoot: string): string {
  return path.join(repoRoot, 'node_modules', '@adguard', 'dnr-rulesets', 'dist', 'filters');
}

export function adguardVersion(repoRoot: string): string {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'node_modules', '@adguard', 'dnr-rulesets', 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function adguardSource(f: AdguardFilter, version: string): SourceInfo {
  return {
    name: `${f.name} (filter ${f.id}) via @adguard/dnr-rulesets ${version}`,
    licence: 'GPL-3.0',
    url: `https://github.com/AdguardTeam/AdGuardFilters (filter ${f.id})`,
  };
}

export function adguardInputs(repoRoot: string, f: AdguardFilter): InputRule[] {
  const file = path.join(adguardDir(repoRoot), 'declarative', `ruleset_${f.id}`, `ruleset_${f.id}.json`);
  const rules = JSON.parse(readFileSync(file, 'utf8')) as unknown[];
  const source = `adguard:${f.id} (${f.name})`;
  return rules.filter(notMetadata).map((raw) => ({
    source,
    ref: `rule id ${String((raw as { id?: unknown }).id)}`,
    raw,
  }));
}

function notMetadata(raw: unknown): boolean {
  const r = raw as { condition?: { urlFilter?: unknown }; metadata?: unknown };
  return !(r.metadata !== undefined && r.condition?.urlFilter === 'dummy.rule.adguard.com');
}
