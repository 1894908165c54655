/**
 * Enterprise policy from the browser's managed storage (Chrome/Edge policy, Firefox
 * policies.json). Kontor validates it itself in every browser (Firefox does not enforce the
 * schema): valid parts apply, problems are kept with their JSON path for the options page,
 * and an invalid policy never stops Kontor working. Applied at start and live on change.
 */
import { browser } from '../shared/browser';
import type { Policy } from '../shared/policy/schema';
import { validatePolicy, type PolicyProblem } from '../shared/policy/validate';

export interface PolicyState {
  policy: Policy;
  problems: PolicyProblem[];
  /** false when the browser offers no managed storage (no policy deployed). */
  managed: boolean;
}

let current: PolicyState = { policy: {}, problems: [], managed: false };
const listeners = new Set<(state: PolicyState) => void>();

async function readManaged(): Promise<PolicyState> {
  let raw: Record<string, unknown>;
  try {
    raw = await browser.storage.managed.get();
  } catch {
    // Firefox throws when no policy names this extension; Chromium returns {}.
    return { policy: {}, problems: [], managed: false };
  }
  if (Object.keys(raw).length === 0) return { policy: {}, problems: [], managed: false };
  const { policy, problems } = validatePolicy(raw);
  return { policy, problems, managed: true };
}

export async function loadPolicy(): Promise<PolicyState> {
  current = await readManaged();
  return current;
}

export function getPolicy(): PolicyState {
  return current;
}

export function onPolicyChange(listener: (state: PolicyState) => void): void {
  listeners.add(listener);
}

/** Registered synchronously at top level by the background entry. */
export function watchPolicy(): void {
  browser.storage.onChanged.addListener((_changes, area) => {
    if (area !== 'managed') return;
    void loadPolicy().then((state) => listeners.forEach((l) => l(state)));
  });
}
