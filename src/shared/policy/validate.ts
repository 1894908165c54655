/**
 * Validates a policy document leniently: every valid part is applied, every problem is
 * reported with its JSON path (the walker: src/shared/repair.ts). Firefox does not enforce
 * managed_schema.json and Chrome drops bad values silently, so this is the one place where
 * admins (options page, `npm run policy`) learn what went wrong. Never throws; uses no Node
 * API (it runs in the service worker).
 */
import { formatProblem, repair, type Problem } from '../repair';
import { PolicySchema, type Policy } from './schema';

export type PolicyProblem = Problem;

export interface PolicyValidation {
  readonly policy: Policy;
  readonly problems: PolicyProblem[];
}

/**
 * Validates a policy document (managed storage contents or a parsed JSON file).
 *
 * @example
 * const { policy, problems } = validatePolicy(await chrome.storage.managed.get());
 */
export function validatePolicy(input: unknown): PolicyValidation {
  const r = repair(PolicySchema, input);
  if (!r.ok && r.problems.at(-1)?.message === 'could not be read') {
    r.problems[r.problems.length - 1] = { path: '', code: 'invalid', message: 'the policy could not be read' };
  }
  return { policy: r.ok ? r.value : {}, problems: r.problems };
}

export { formatProblem };
