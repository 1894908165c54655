/**
 * Kontor's dynamic DNR rules (pure builders). Static rulesets carry the lists; dynamic rules
 * carry what changes at run time: sites the employee paused and the policy's extra block and
 * allow domains. Blocking owns dynamic rule ids 1..DYNAMIC_ID_MAX.
 * Their priorities are the upper rungs of the ladder in src/shared/blocking/priority.ts.
 */
import { PRIORITY } from '../../shared/blocking/priority';
import type { EffectiveBlocking } from '../../shared/policy/effective';

export { PRIORITY };
export const DYNAMIC_ID_MAX = 99_999;
/** Hosts per requestDomains rule, as the compiler merges them. */
const CHUNK = 1000;

export interface DnrRule {
  id: number;
  priority: number;
  action: { type: 'block' | 'allow' | 'allowAllRequests' };
  condition: { requestDomains: string[]; resourceTypes?: ('main_frame' | 'sub_frame')[] };
}

function chunks<T>(list: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += CHUNK) out.push(list.slice(i, i + CHUNK));
  return out;
}

/**
 * Every dynamic rule blocking wants, given the paused sites and the effective policy. While
 * the policy locks blocking, paused sites stay remembered but are not applied.
 *
 * A pause is `allowAllRequests` on the site's documents (top-level and frames): every request
 * those documents make is then allowed, including the tracking-parameter redirects.
 */
export function buildDynamicRules(
  paused: readonly string[],
  blocking: Pick<EffectiveBlocking, 'locked' | 'extraBlock' | 'extraAllow'>,
): DnrRule[] {
  const rules: DnrRule[] = [];
  const next = () => rules.length + 1;
  if (!blocking.locked) {
    for (const site of [...new Set(paused)].sort()) {
      rules.push({
        id: next(),
        priority: PRIORITY.pause,
        action: { type: 'allowAllRequests' },
        condition: { requestDomains: [site], resourceTypes: ['main_frame', 'sub_frame'] },
      });
    }
  }
  // Resource types left out: every type except main_frame, so a listed domain's own pages
  // still open while everything it serves to other sites is blocked.
  for (const part of chunks([...new Set(blocking.extraBlock)].sort())) {
    rules.push({ id: next(), priority: PRIORITY.policyBlock, action: { type: 'block' }, condition: { requestDomains: part } });
  }
  for (const part of chunks([...new Set(blocking.extraAllow)].sort())) {
    rules.push({ id: next(), priority: PRIORITY.policyAllow, action: { type: 'allow' }, condition: { requestDomains: part } });
  }
  if (rules.length > DYNAMIC_ID_MAX) throw new RangeError(`too many dynamic rules (${rules.length})`);
  return rules;
}

/** Static ruleset ids of each category: `analytics_1`, `analytics_2` belong to `analytics`. */
export function rulesetCategory(id: string): string {
  return id.replace(/_\d+$/, '');
}

/** Which static rulesets to enable and disable for the given category switches. */
export function rulesetPlan(
  ids: readonly string[],
  categories: Readonly<Record<string, boolean>>,
): { enable: string[]; disable: string[] } {
  const enable: string[] = [];
  const disable: string[] = [];
  for (const id of ids) {
    const on = categories[rulesetCategory(id)];
    // Rulesets of no switchable category (the allowlist) always stay on.
    (on === false ? disable : enable).push(id);
  }
  return { enable, disable };
}
