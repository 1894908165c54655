/**
 * Build-time rules compiler: `npx tsx scripts/rules/compile.ts --out build/rules`.
 *
 * Writes into outDir:
 * - `<id>.json` for ids ads, analytics, b2b, social, urlparams (switchable categories) and
 *   allow (always on): arrays of DNR rules, ids 1..n per ruleset.
 * - `rulesets.json`: RulesetInfo[] `{ id, category, file, enabledByDefault, rules, regexRules,
 *   domains, bytes, sources: [{ name, licence, url }] }`, in the order the manifest should list
 *   them (`declarative_net_request.rule_resources`: `{ id, enabled: enabledByDefault,
 *   path: "rules/" + file }`).
 * - `trackers.json`: `{ version: 1, companies: string[], domains: { [host]: [category,
 *   companyIndex] } }`. The popup walks a blocked host's suffixes and takes the first hit.
 * - `rule-companies.json`: `{ version: 1, companies: string[], rules: { [rulesetId]: { [ruleId]:
 *   companyIndex } } }` for block rules whose hosts all belong to one company (rule-companies.ts);
 *   Chromium's popup names companies from matched rule ids with it.
 * Skipped input rules (with source and rule id) and skip counts are printed and returned in
 * `CompiledRulesets.problems` / `.skipped`; they are not written next to the shipped files.
 *
 * Priorities: list rules keep AdGuard's (1 .. ~1.1 million); the allowlist uses 10,000,000.
 * Redirect rules (`urlparams`, query stripping) need host permissions for the page.
 * Throws RuleLimitError when the enabled rulesets exceed 30,000 rules or regex rules reach 1,000.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADGUARD_FILTERS, adguardInputs, adguardSource, adguardVersion } from './adguard';
import { assemble, type RulesetPlan } from './assemble';
import {
  Allowlist,
  B2bList,
  CompanyList,
  TrackingSupplement,
  allowInputs,
  allowlistPredicate,
  b2bInputs,
  readList,
  supplementInputs,
} from './lists';
import { DnrRuleArray } from './schema';
import { EXTRA_LISTS, MustLoad, extraListInputs } from './extra-lists';
import { buildTrackerLookup } from './trackers';
import { blocksFirst, buildRuleCompanies, companyResolver } from './rule-companies';
import { CATEGORY_IDS, type CategoryId, type CompiledRulesets, type Problem, type RulesetInfo } from './types';
import * as v from 'valibot';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LISTS = path.join(REPO_ROOT, 'assets', 'lists');
const KONTOR_LICENCE = 'GPL-3.0-or-later (Kontor)';

export async function compileRules(opts: { outDir: string; quiet?: boolean }): Promise<CompiledRulesets> {
  const started = performance.now();
  const listProblems: Problem[] = [];
  const b2bFile = path.join(LISTS, 'b2b-identification.json');
  const allowFile = path.join(LISTS, 'allowlist.json');
  const b2b = readList(b2bFile, B2bList);
  const allow = readList(allowFile, Allowlist);
  const companies = readList(path.join(LISTS, 'companies.json'), CompanyList);
  const supplement = readList(path.join(LISTS, 'tracking-supplement.json'), TrackingSupplement);
  const version = adguardVersion(REPO_ROOT);
  const mustLoad = readList(path.join(LISTS, 'must-load.json'), MustLoad);

  const plans: RulesetPlan[] = CATEGORY_IDS.map((category) => {
    const filters = ADGUARD_FILTERS.filter((f) => f.category === category);
    const plan: RulesetPlan = {
      id: category,
      category,
      enabledByDefault: true,
      sources: filters.map((f) => adguardSource(f, version)),
      inputs: filters.flatMap((f) => adguardInputs(REPO_ROOT, f)),
    };
    const extra = supplementInputs(supplement, category, 'assets/lists/tracking-supplement.json', listProblems);
    if (extra.length > 0) {
      plan.sources.push({ name: 'Kontor tracking supplement', licence: KONTOR_LICENCE, url: 'assets/lists/tracking-supplement.json' });
      plan.inputs.push(...extra);
    }
    for (const extra of EXTRA_LISTS.filter((l) => l.category === category)) {
      plan.sources.push(extra.source);
      plan.inputs.push(...extraListInputs(REPO_ROOT, extra, mustLoad, listProblems));
    }
    if (category === 'b2b') {
      plan.sources.push({ name: 'Kontor B2B identification list', licence: KONTOR_LICENCE, url: 'assets/lists/b2b-identification.json' });
      plan.inputs.push(...b2bInputs(b2b, 'assets/lists/b2b-identification.json', listProblems));
    }
    return plan;
  });
  plans.push({
    id: 'allow',
    category: 'allow',
    enabledByDefault: true,
    sources: [{ name: 'Kontor business-critical allowlist', licence: KONTOR_LICENCE, url: 'assets/lists/allowlist.json' }],
    inputs: allowInputs(allow, 'assets/lists/allowlist.json', listProblems),
  });

  const named: CompanyList = { version: 1, companies: { ...companies.companies } };
  for (const e of supplement.entries) named.companies[e.company] = [...(named.companies[e.company] ?? []), ...e.hosts];
  const withVendors: Record<string, string[]> = { ...named.companies };
  for (const vendor of b2b.vendors) withVendors[vendor.company] = [...(withVendors[vendor.company] ?? []), ...vendor.domains];
  const companyOf = companyResolver(withVendors);

  const { rulesets, problems } = assemble(plans, {
    isAllowlisted: allowlistPredicate(allow),
    mustLoad: mustLoad.hosts.map((h) => h.host),
    companyOf,
  });

  mkdirSync(opts.outDir, { recursive: true });
  const infos: RulesetInfo[] = [];
  const skipped: Record<string, number> = {};
  for (const { plan, merged } of rulesets) {
    merged.rules = blocksFirst(merged.rules);
    // Final gate: what ships must parse as DNR rules.
    v.parse(DnrRuleArray, merged.rules);
    const file = `${plan.id}.json`;
    const text = JSON.stringify(merged.rules);
    writeFileSync(path.join(opts.outDir, file), text);
    for (const [why, n] of Object.entries(merged.skipped)) skipped[why] = (skipped[why] ?? 0) + n;
    infos.push({
      id: plan.id,
      category: plan.category,
      file,
      enabledByDefault: plan.enabledByDefault,
      rules: merged.rules.length,
      regexRules: merged.regexRules,
      domains: merged.domains.size,
      bytes: Buffer.byteLength(text),
      sources: plan.sources,
    });
  }
  const blocked: Partial<Record<CategoryId, ReadonlySet<string>>> = {};
  for (const { plan, merged } of rulesets) if (plan.id !== 'allow') blocked[plan.id] = merged.domains;
  const { lookup } = buildTrackerLookup(blocked, named, b2b);
  const allProblems = [...listProblems, ...problems];
  writeFileSync(path.join(opts.outDir, 'rulesets.json'), JSON.stringify(infos, null, 1));
  writeFileSync(path.join(opts.outDir, 'trackers.json'), JSON.stringify(lookup));
  const ruleCompanies = buildRuleCompanies(
    rulesets.map(({ plan, merged }) => ({ id: plan.id, rules: merged.rules })),
    companyOf,
  );
  writeFileSync(path.join(opts.outDir, 'rule-companies.json'), JSON.stringify(ruleCompanies));

  const result: CompiledRulesets = {
    outDir: opts.outDir,
    rulesets: infos,
    trackers: lookup,
    ruleCompanies,
    totals: {
      rules: infos.reduce((n, r) => n + r.rules, 0),
      enabledRules: infos.filter((r) => r.enabledByDefault).reduce((n, r) => n + r.rules, 0),
      regexRules: infos.reduce((n, r) => n + r.regexRules, 0),
      bytes: infos.reduce((n, r) => n + r.bytes, 0),
      domains: infos.reduce((n, r) => n + r.domains, 0),
    },
    problems: allProblems,
    skipped,
    seconds: (performance.now() - started) / 1000,
  };
  if (!opts.quiet) report(result);
  return result;
}

function report(r: CompiledRulesets): void {
  const log = (s: string): void => {
    process.stderr.write(`${s}\n`);
  };
  log('ruleset     rules  regex  domains     bytes  default');
  for (const i of r.rulesets) {
    log(
      `${i.id.padEnd(10)} ${String(i.rules).padStart(6)} ${String(i.regexRules).padStart(6)} ${String(i.domains).padStart(8)} ${String(i.bytes).padStart(9)}  ${i.enabledByDefault ? 'on' : 'off'}`,
    );
  }
  log(
    `total      ${String(r.totals.rules).padStart(6)} ${String(r.totals.regexRules).padStart(6)} ${String(r.totals.domains).padStart(8)} ${String(r.totals.bytes).padStart(9)}  (enabled: ${r.totals.enabledRules} of 30000)`,
  );
  log(`trackers.json: ${Object.keys(r.trackers.domains).length} hosts, ${r.trackers.companies.length} companies`);
  log(
    `rule-companies.json: ${Object.values(r.ruleCompanies.rules).reduce((n, m) => n + Object.keys(m).length, 0)} single-company rules, ${r.ruleCompanies.companies.length} companies`,
  );
  log(
    `skipped: ${
      Object.entries(r.skipped)
        .map(([k, n]) => `${k}: ${n}`)
        .join('; ') || 'none'
    }`,
  );
  log(`problems (input rules skipped as broken): ${r.problems.length}`);
  for (const p of r.problems) log(`  ${p.source} ${p.ref}: ${p.reason}`);
  log(`compiled in ${r.seconds.toFixed(2)} s -> ${r.outDir}`);
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const i = process.argv.indexOf('--out');
  const outDir = path.resolve(i > 0 ? (process.argv[i + 1] ?? 'build/rules') : 'build/rules');
  compileRules({ outDir }).catch((e: unknown) => {
    process.stderr.write(`rules compile failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
