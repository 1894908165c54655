/**
 * Enterprise policy from the browser's managed storage (Chrome/Edge policy, Firefox
 * policies.json). Kontor validates it itself in every browser (Firefox does not enforce the
 * schema): valid parts apply, problems are kept with their JSON path for the options page,
 * and an invalid policy never stops Kontor working. Applied at start and live on change.
 */
import type { Policy } from '../shared/policy/schema';
import { validatePolicy, type PolicyProblem } from '../shared/policy/validate';
import { onManagedChange, readManaged as readManagedArea, storage } from './storage';

export interface PolicyState {
  policy: Policy;
  problems: PolicyProblem[];
  /** false when the browser offers no managed storage (no policy deployed). */
  managed: boolean;
}

let current: PolicyState = { policy: {}, problems: [], managed: false };
const listeners = new Set<(state: PolicyState) => void>();

async function readManaged(): Promise<{ state: PolicyState; raw?: Record<string, unknown> }> {
  const raw = await readManagedArea();
  if (raw === null || Object.keys(raw).length === 0) return { state: { policy: {}, problems: [], managed: false } };
  const { policy, problems } = validatePolicy(raw);
  return { state: { policy, problems, managed: true }, raw };
}

/**
 * Applies the last policy seen (cached in storage.local) at once, then reads managed
 * storage, which Chromium answers only after its policy service is up (measured here: about
 * 5 s after a cold start). Listeners hear about any difference.
 */
export async function loadPolicy(): Promise<PolicyState> {
  const cached = await storage.get('policyCache');
  if (cached !== undefined) {
    const { policy, problems } = validatePolicy(cached);
    current = { policy, problems, managed: true };
  }
  managedRead = refreshFromManaged();
  return current;
}

let managedRead: Promise<PolicyState> | undefined;

/** Resolves once managed storage has been read at least once since start. */
export function policySettled(): Promise<PolicyState> {
  return managedRead ?? Promise.resolve(current);
}

async function refreshFromManaged(): Promise<PolicyState> {
  const { state: fresh, raw } = await readManaged();
  const changed = JSON.stringify(fresh) !== JSON.stringify(current);
  current = fresh;
  if (raw) await storage.set('policyCache', raw);
  else await storage.remove('policyCache');
  if (changed) for (const l of listeners) l(current);
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
  onManagedChange(() => {
    managedRead = refreshFromManaged();
  });
}
