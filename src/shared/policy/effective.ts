/**
 * Pure merge of the validated policy with the employee's own settings. The result says what
 * Kontor does, and `locks` says which settings the policy fixed so the UI can show them as
 * "set by your organisation" and the background can refuse changes to them.
 *
 * Rules (docs/admin.md, "How the policy combines with employee settings"):
 * - blocking.categories without `blocking.locked` are defaults: the employee's own choice wins.
 *   With `blocking.locked: true` every category is fixed (the policy's value, else Kontor's
 *   default) and pausing blocking on a site is refused.
 * - Every other key, when the policy sets it, is fixed.
 * - A domain in both blockDomains and allowDomains is allowed (allow rules win in DNR, too).
 */
import { CATEGORIES, DEFAULT_CATEGORIES, type Category } from '../blocking/categories';
import type { Policy, PolicyPartner } from './schema';
export const DEFAULT_RETENTION_DAYS = 365;

/** What the employee chose; every field optional (unset means Kontor's default). */
export interface UserSettings {
  readonly categories?: Partial<Record<Category, boolean>>;
  readonly gateway?: string;
  readonly offerNonPartners?: boolean;
  readonly retentionDays?: number;
}

export interface EffectiveBlocking {
  readonly categories: Record<Category, boolean>;
  /** True: the employee may neither pause blocking on a site nor switch categories. */
  readonly locked: boolean;
  readonly lockedCategories: Category[];
  readonly extraBlock: string[];
  readonly extraAllow: string[];
}

export function effectiveBlocking(policy: Policy, user: UserSettings = {}): EffectiveBlocking {
  const blocking = policy.blocking ?? {};
  const locked = blocking.locked === true;
  const fromPolicy = blocking.categories ?? {};
  const categories = { ...DEFAULT_CATEGORIES };
  for (const id of CATEGORIES) {
    const mine = user.categories?.[id];
    const admin = fromPolicy[id];
    categories[id] = locked ? (admin ?? DEFAULT_CATEGORIES[id]) : (mine ?? admin ?? DEFAULT_CATEGORIES[id]);
  }
  const extraAllow = [...(blocking.allowDomains ?? [])];
  const allowed = new Set(extraAllow);
  const extraBlock = (blocking.blockDomains ?? []).filter((d) => !allowed.has(d));
  return { categories, locked, lockedCategories: locked ? [...CATEGORIES] : [], extraBlock, extraAllow };
}

export interface EffectiveDiscovery {
  /** May the employee add partners by domain? */
  readonly allowUserPartners: boolean;
  /** May Kontor offer contact to non-partner companies that advertise Kontor? */
  readonly offerNonPartners: boolean;
}

export function effectiveDiscovery(policy: Policy, user: UserSettings = {}): EffectiveDiscovery {
  const d = policy.discovery ?? {};
  return {
    allowUserPartners: d.allowUserPartners ?? true,
    offerNonPartners: d.offerNonPartners ?? user.offerNonPartners ?? true,
  };
}

export interface EffectiveOrganization {
  readonly domain: string | undefined;
  /** Gateway base URL used for enrollment and the channel; the policy's wins. */
  readonly gateway: string | undefined;
}

export function effectiveOrganization(policy: Policy, user: UserSettings = {}): EffectiveOrganization {
  return { domain: policy.organization?.domain, gateway: policy.organization?.gateway ?? user.gateway };
}

export function effectiveRetentionDays(policy: Policy, user: UserSettings = {}): number {
  return policy.retentionDays ?? user.retentionDays ?? DEFAULT_RETENTION_DAYS;
}

/**
 * Policy partners come first and win over an employee's entry for the same domain; employee
 * partners are hidden (not deleted) while the policy forbids them.
 */
export function mergePartners<T extends { readonly domain: string }>(
  policy: Policy,
  userPartners: readonly T[],
): { policy: PolicyPartner[]; user: T[]; hidden: T[] } {
  const fromPolicy = policy.partners ?? [];
  const pinned = new Set(fromPolicy.map((p) => p.domain));
  const allowed = effectiveDiscovery(policy).allowUserPartners;
  const user: T[] = [];
  const hidden: T[] = [];
  for (const p of userPartners) (allowed && !pinned.has(p.domain) ? user : hidden).push(p);
  return { policy: [...fromPolicy], user, hidden };
}

/** Keys the UI asks about; true means "set by your organisation", refuse changes. */
export type LockKey =
  | `blocking.categories.${Category}`
  | 'blocking.pause'
  | 'organization.gateway'
  | 'discovery.allowUserPartners'
  | 'discovery.offerNonPartners'
  | 'retentionDays'
  | 'onboarding';

export interface EffectiveSettings {
  readonly blocking: EffectiveBlocking;
  readonly discovery: EffectiveDiscovery;
  readonly organization: EffectiveOrganization;
  readonly retentionDays: number;
  readonly showOnboarding: boolean;
  readonly locks: Readonly<Record<LockKey, boolean>>;
}

export function effectiveSettings(policy: Policy, user: UserSettings = {}): EffectiveSettings {
  const blocking = effectiveBlocking(policy, user);
  const locks = {
    'blocking.pause': blocking.locked,
    'organization.gateway': policy.organization?.gateway !== undefined,
    'discovery.allowUserPartners': policy.discovery?.allowUserPartners !== undefined,
    'discovery.offerNonPartners': policy.discovery?.offerNonPartners !== undefined,
    retentionDays: policy.retentionDays !== undefined,
    onboarding: policy.disableOnboarding !== undefined,
  } as Record<LockKey, boolean>;
  for (const id of CATEGORIES) locks[`blocking.categories.${id}`] = blocking.lockedCategories.includes(id);
  return {
    blocking,
    discovery: effectiveDiscovery(policy, user),
    organization: effectiveOrganization(policy, user),
    retentionDays: effectiveRetentionDays(policy, user),
    showOnboarding: policy.disableOnboarding !== true,
    locks,
  };
}
