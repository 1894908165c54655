/**
 * Puts the effective settings into the browser: category switches become enabled static
 * rulesets (every ruleset of a category together), paused sites and the policy's extra
 * domains become dynamic rules. Idempotent and cheap when nothing changed, so it runs on
 * every background start and on every policy or settings change.
 */
import { browser } from '../../shared/browser';
import { effectiveSettings, type EffectiveSettings } from '../../shared/policy/effective';
import { getPolicy } from '../policy';
import { getUserSettings } from '../settings';
import { buildDynamicRules, DYNAMIC_ID_MAX, rulesetPlan, type DnrRule } from './rules';
import { getPaused, serial } from './store';

type DnrApi = typeof browser.declarativeNetRequest;

export async function currentSettings(): Promise<EffectiveSettings> {
  return effectiveSettings(getPolicy().policy, await getUserSettings());
}

/** Static ruleset ids as the manifest declares them. */
export function staticRulesetIds(): string[] {
  const dnr = (browser.runtime.getManifest() as { declarative_net_request?: { rule_resources?: { id: string }[] } })
    .declarative_net_request;
  return (dnr?.rule_resources ?? []).map((r) => r.id);
}

async function applyRulesets(dnr: DnrApi, categories: Record<string, boolean>): Promise<void> {
  const plan = rulesetPlan(staticRulesetIds(), categories);
  const enabled = new Set(await dnr.getEnabledRulesets());
  const enableRulesetIds = plan.enable.filter((id) => !enabled.has(id));
  const disableRulesetIds = plan.disable.filter((id) => enabled.has(id));
  if (enableRulesetIds.length || disableRulesetIds.length) await dnr.updateEnabledRulesets({ enableRulesetIds, disableRulesetIds });
}

async function applyDynamic(dnr: DnrApi, wanted: DnrRule[]): Promise<void> {
  const existing = (await dnr.getDynamicRules()).filter((r) => r.id <= DYNAMIC_ID_MAX);
  // Browsers add defaults to stored rules; compare by what Kontor sets.
  const shape = (r: {
    id: number;
    priority?: number;
    action: { type: string };
    condition: { requestDomains?: string[]; resourceTypes?: string[] };
  }) => [r.id, r.priority ?? 1, r.action.type, r.condition.requestDomains ?? [], r.condition.resourceTypes ?? []];
  if (JSON.stringify(existing.map(shape)) === JSON.stringify(wanted.map(shape))) return;
  await dnr.updateDynamicRules({
    removeRuleIds: existing.map((r) => r.id),
    addRules: wanted as Parameters<DnrApi['updateDynamicRules']>[0]['addRules'],
  });
}

/** Applies everything; calls are queued so two changes never interleave. */
export function applyBlocking(): Promise<void> {
  return serial(async () => {
    const dnr = browser.declarativeNetRequest;
    const { blocking } = await currentSettings();
    await applyRulesets(dnr, blocking.categories);
    await applyDynamic(dnr, buildDynamicRules(await getPaused(), blocking));
  }).catch((e: unknown) => console.error('[kontor] applying blocking settings failed', e));
}
