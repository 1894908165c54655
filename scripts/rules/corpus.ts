/**
 * The independent corpus that blocking coverage is measured against: the HTTP Archive's
 * third-party entities (`third-party-web`, MIT, a devDependency; nothing of it ships). Shared
 * by `npm run bench -- coverage` and the unit test, so both mean the same by "blocked".
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { evaluate, type Ruleset } from './match';

export interface Entity {
  name: string;
  category: string;
  domains: string[];
  examples?: string[];
  totalOccurrences?: number;
}

const PAGE = 'https://www.mittelstand-beispiel.de';

export function readCorpus(repoRoot: string): { version: string; entities: Entity[] } {
  const dir = path.join(repoRoot, 'node_modules', 'third-party-web');
  return {
    version: (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version,
    entities: JSON.parse(readFileSync(path.join(dir, 'dist', 'entities.json'), 'utf8')) as Entity[],
  };
}

/** An entity's domains without the corpus's `*.` wildcard. */
export const entityDomains = (e: Entity): string[] => e.domains.map((d) => d.replace(/^\*\./, ''));

/** The hosts to try for an entity: its example hosts, or where it lists none, its domains. */
export const entityHosts = (e: Entity): string[] => (e.examples?.length ? e.examples : entityDomains(e));

/** A script, image or XHR request from a business site to this host is blocked. */
export function hostBlocked(rulesets: readonly Ruleset[], host: string): boolean {
  return (['script', 'image', 'xmlhttprequest'] as const).some(
    (type) => evaluate(rulesets, { url: `https://${host}/`, type, initiator: PAGE })?.rule.action.type === 'block',
  );
}
