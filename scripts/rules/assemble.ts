/**
 * Turns per-ruleset input into finished rulesets and enforces the browsers' static-rule limits.
 * Pure (no file access): the unit tests drive it with synthetic input.
 */
import { mergeRuleset, type InputRule, type MergedRuleset } from './merge';
import { ALLOW_PRIORITY } from './lists';
import type { CategoryId, Problem, RulesetId, SourceInfo } from './types';

/**
 * Firefox guarantees 30,000 static rules across enabled rulesets and has no shared pool
 * (Chromium guarantees 30,000 too, plus a shared global pool). Both cap regex rules at 1,000.
 */
export const LIMITS = { enabledRules: 30_000, regexRules: 1_000 };

export class RuleLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleLimitError';
  }
}

export interface RulesetPlan {
  id: RulesetId;
  category: CategoryId | 'allow';
  enabledByDefault: boolean;
  sources: SourceInfo[];
  inputs: InputRule[];
}

export interface AssembledRuleset {
  plan: Omit<RulesetPlan, 'inputs'>;
  merged: MergedRuleset;
}

export interface AssembleOptions {
  isAllowlisted?: (host: string) => boolean;
  /**
   * Must-load business embeds: no list blocks them as a whole host, except Kontor's own B2B
   * list, which decides per vendor with `keep` (a tracker that shares its host with a chat
   * stays blocked there: docs/blocking.md).
   */
  mustLoad?: readonly string[];
  limits?: typeof LIMITS;
  chunkSize?: number;
  /** Keeps each known company's hosts in rules of their own (see MergeOptions.companyOf). */
  companyOf?: (host: string) => string | undefined;
}

export function assemble(plans: RulesetPlan[], opts: AssembleOptions = {}): { rulesets: AssembledRuleset[]; problems: Problem[] } {
  const limits = opts.limits ?? LIMITS;
  const rulesets = plans.map(({ inputs, ...plan }) => ({
    plan,
    merged: mergeRuleset(inputs, {
      chunkSize: opts.chunkSize,
      companyOf: opts.companyOf,
      // The allowlist itself is never filtered by the allowlist.
      isAllowlisted: plan.id === 'allow' ? undefined : opts.isAllowlisted,
      mustLoad: plan.id === 'allow' || plan.id === 'b2b' ? undefined : opts.mustLoad,
    }),
  }));

  for (const { plan, merged } of rulesets) {
    if (plan.id === 'allow') continue;
    const top = merged.rules.find((r) => (r.priority ?? 1) >= ALLOW_PRIORITY);
    if (top)
      throw new RuleLimitError(
        `ruleset ${plan.id}: rule ${top.id} has priority ${top.priority}, at or above the allowlist's ${ALLOW_PRIORITY}`,
      );
  }
  const enabled = rulesets.filter((r) => r.plan.enabledByDefault);
  const enabledRules = enabled.reduce((n, r) => n + r.merged.rules.length, 0);
  const regexRules = rulesets.reduce((n, r) => n + r.merged.regexRules, 0);
  const counts = rulesets.map((r) => `${r.plan.id}=${r.merged.rules.length}${r.plan.enabledByDefault ? '' : ' (off)'}`).join(', ');
  if (enabledRules > limits.enabledRules) {
    throw new RuleLimitError(
      `enabled-by-default rulesets hold ${enabledRules} rules, above the limit of ${limits.enabledRules} (${counts})`,
    );
  }
  if (regexRules >= limits.regexRules) {
    throw new RuleLimitError(`${regexRules} regex rules in total; must stay below ${limits.regexRules} (${counts})`);
  }
  return { rulesets, problems: rulesets.flatMap((r) => r.merged.problems) };
}
