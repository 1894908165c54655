/**
 * The partner directory: who Kontor treats as a partner, and how sure it is.
 * Sources, strongest first: (1) enterprise policy (`partners`, key pinned when the policy
 * gives `orgKey`), (2) partners the employee added by domain (key pinned on first use),
 * (3) the profiles each partner's own signed manifest claims. A manifest whose key differs
 * from the pinned one raises a hard warning; no channel opens until it is confirmed.
 */
import { KontorError } from '../../shared/errors';
import { effectiveDiscovery, mergePartners } from '../../shared/policy/effective';
import { normalizeDomain } from '../../shared/policy/domain';
import type { PartnerView } from '../../shared/protocol';
import { getPolicy } from '../policy';
import { storage, type RecordValue } from '../storage';
import { dropManifest, fetchManifest, getCachedManifest, normalizeFingerprint, storeManifest, type CachedManifest } from './manifests';
import { normalizeProfileUrl } from './profiles';
import { planTransfer, type PinConflict } from './transfer';
import { LINK, type TransferredPartner } from '../../wire/link';

/** Partners the employee added, trust-on-first-use pins and key warnings (storage/records.ts). */
type Stored = RecordValue<'directory'>;

function load(): Promise<Stored> {
  return storage.get('directory');
}
async function save(s: Stored): Promise<void> {
  await storage.set('directory', s);
}

const changeListeners = new Set<() => void>();
export function onDirectoryChange(listener: () => void): void {
  changeListeners.add(listener);
}
function changed(): void {
  for (const l of changeListeners) l();
}

/** Every partner the employee should see, with verification state. */
export async function listPartners(): Promise<PartnerView[]> {
  const { policy } = getPolicy();
  const stored = await load();
  const merged = mergePartners(policy, stored.user);
  const views: PartnerView[] = [];
  for (const p of merged.policy) {
    views.push(await view(p.domain, 'policy', stored, { name: p.name, orgKey: p.orgKey, profiles: p.profiles ?? [] }));
  }
  for (const p of merged.user) views.push(await view(p.domain, 'user', stored, { profiles: [] }));
  return views;
}

async function view(
  domain: string,
  source: 'policy' | 'user',
  stored: Stored,
  given: { name?: string | undefined; orgKey?: string | undefined; profiles: string[] },
): Promise<PartnerView> {
  const cached = await getCachedManifest(domain);
  const pinned = given.orgKey ?? stored.pins[domain] ?? null;
  const warning = stored.warnings[domain] ?? null;
  const keyMatches = cached && pinned !== null && normalizeFingerprint(cached.fingerprint) === normalizeFingerprint(pinned);
  // Only a manifest signed with the pinned key may add profiles or contacts.
  const trusted = keyMatches && !warning ? cached : undefined;
  const profiles = [...given.profiles, ...(trusted?.manifest.profiles ?? [])]
    .map((u) => normalizeProfileUrl(u))
    .filter((u): u is string => u !== null);
  const state: PartnerView['state'] = given.orgKey ? 'pinned-policy' : pinned ? 'pinned-tofu' : 'unverified';
  return {
    domain,
    name: given.name ?? trusted?.manifest.orgName ?? domain,
    source,
    state,
    fingerprint: pinned,
    profiles: [...new Set(profiles)],
    contacts: trusted?.manifest.contacts ?? [],
    gatewayUrl: trusted?.manifest.gatewayUrl ?? null,
    keyWarning: warning ? { pinned: warning.pinned, seen: warning.seen } : null,
    manifest: !cached ? 'missing' : cached.expiresAt <= Date.now() ? 'expired' : 'valid',
  };
}

/**
 * Fetches a known partner's manifest and checks it against the pin: pins on first use,
 * caches on a match, records a warning on a mismatch (and keeps the old trusted manifest).
 */
export async function refreshPartner(domain: string): Promise<PartnerView | undefined> {
  const before = (await listPartners()).find((p) => p.domain === domain);
  if (!before) throw new KontorError('not_found', `${domain} is not a partner`);
  const fetched = await fetchManifest(domain);
  await applyManifest(domain, fetched, before.state === 'pinned-policy' ? before.fingerprint : null);
  changed();
  return (await listPartners()).find((p) => p.domain === domain);
}

async function applyManifest(domain: string, fetched: CachedManifest, policyPin: string | null): Promise<void> {
  const stored = await load();
  const pin = policyPin ?? stored.pins[domain] ?? null;
  if (pin === null) {
    stored.pins[domain] = fetched.fingerprint;
  } else if (normalizeFingerprint(pin) !== normalizeFingerprint(fetched.fingerprint)) {
    stored.warnings[domain] = { pinned: pin, seen: fetched.fingerprint, seenAt: Date.now() };
    await save(stored);
    return;
  } else {
    delete stored.warnings[domain];
  }
  await save(stored);
  await storeManifest(domain, fetched);
}

/** Adds a partner by domain: fetches its manifest now (the employee asked) and pins its key. */
export async function addPartner(input: string): Promise<PartnerView> {
  const domain = normalizeDomain(input);
  if (!domain) throw new KontorError('invalid_params', `"${input.slice(0, 100)}" is not a domain name`);
  const { policy } = getPolicy();
  if (!effectiveDiscovery(policy).allowUserPartners) throw new KontorError('forbidden', 'your organisation manages the partner list');
  const existing = (await listPartners()).find((p) => p.domain === domain);
  if (existing) return existing;
  const fetched = await fetchManifest(domain);
  const stored = await load();
  stored.user.push({ domain, addedAt: Date.now() });
  stored.pins[domain] = fetched.fingerprint;
  delete stored.warnings[domain];
  await save(stored);
  await storeManifest(domain, fetched);
  changed();
  const added = (await listPartners()).find((p) => p.domain === domain);
  if (!added) throw new KontorError('internal', 'partner not stored');
  return added;
}

export async function removePartner(domain: string): Promise<void> {
  const stored = await load();
  if (!stored.user.some((p) => p.domain === domain)) {
    throw new KontorError(
      (getPolicy().policy.partners ?? []).some((p) => p.domain === domain) ? 'forbidden' : 'not_found',
      `${domain} cannot be removed here`,
    );
  }
  stored.user = stored.user.filter((p) => p.domain !== domain);
  delete stored.pins[domain];
  delete stored.warnings[domain];
  await save(stored);
  await dropManifest(domain);
  changed();
}

/**
 * The employee confirms a partner's new key (after checking it with the partner). Keys
 * pinned by policy can only change through the policy.
 */
export async function acceptNewKey(domain: string): Promise<PartnerView | undefined> {
  const partner = (await listPartners()).find((p) => p.domain === domain);
  if (!partner?.keyWarning) throw new KontorError('not_found', `no key change pending for ${domain}`);
  if (partner.state === 'pinned-policy') throw new KontorError('forbidden', 'this key is pinned by your organisation');
  const stored = await load();
  stored.pins[domain] = partner.keyWarning.seen;
  delete stored.warnings[domain];
  await save(stored);
  const fetched = await fetchManifest(domain);
  await applyManifest(domain, fetched, null);
  changed();
  return (await listPartners()).find((p) => p.domain === domain);
}

/** Refreshes manifests of known partners that are missing or expire within a day. */
export async function refreshDue(): Promise<void> {
  for (const p of await listPartners()) {
    const cached = await getCachedManifest(p.domain);
    if (cached && cached.expiresAt - Date.now() > 24 * 3600_000) continue;
    await refreshPartner(p.domain).catch((e: unknown) =>
      console.warn(`[kontor] manifest of ${p.domain}:`, e instanceof Error ? e.message : e),
    );
  }
}

/** The partners whose key this browser has pinned and trusts, for a browser it links (issue 15). */
export async function pinnedPartners(): Promise<TransferredPartner[]> {
  return (await listPartners())
    .filter((p) => p.fingerprint !== null && p.keyWarning === null)
    .slice(0, LINK.partners)
    .map((p) => ({ domain: p.domain, orgKey: p.fingerprint!, source: p.source }));
}

/**
 * Takes the partners the linking device passed on (rules in transfer.ts), then fetches their
 * manifests, which must match the pins: only then are their conversations accepted here.
 */
export async function importTransferredPartners(
  transferred: readonly TransferredPartner[],
): Promise<{ added: string[]; conflicts: PinConflict[] }> {
  const { policy } = getPolicy();
  const policyPins = new Map((policy.partners ?? []).map((p) => [p.domain, p.orgKey]));
  const plan = planTransfer(await load(), transferred, policyPins, effectiveDiscovery(policy).allowUserPartners, Date.now());
  await save(plan.directory);
  changed();
  for (const domain of plan.added)
    await refreshPartner(domain).catch((e: unknown) => console.warn(`[kontor] manifest of ${domain}:`, e instanceof Error ? e.message : e));
  return { added: plan.added, conflicts: plan.conflicts };
}
