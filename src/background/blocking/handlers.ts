/**
 * Message handlers of tracker blocking (protocol kinds `blocking.*`). Changes the policy
 * locks are refused here, whatever the UI shows.
 */
import { KontorError } from '../../shared/errors';
import { CATEGORIES } from '../../shared/blocking/categories';
import { hostMatchesDomain, normalizeDomain } from '../../shared/policy/domain';
import type { BlockingSettingsView, BlockingState } from '../../shared/protocol';
import type { Handlers } from '../dispatcher';
import { getUserSettings, updateUserSettings } from '../settings';
import { applyBlocking, currentSettings } from './apply';
import { isPausedIn } from './counts';
import { counter, repaintAll } from './events';
import { getPaused, setPaused } from './store';

function siteParam(site: string): string {
  const domain = normalizeDomain(site);
  if (!domain) throw new KontorError('bad_request', `"${site.slice(0, 100)}" is not a site name`);
  return domain;
}

async function settingsView(): Promise<BlockingSettingsView> {
  const { blocking, locks } = await currentSettings();
  return {
    categories: CATEGORIES.map((category) => ({
      category,
      enabled: blocking.categories[category],
      locked: locks[`blocking.categories.${category}`],
    })),
    pauseLocked: locks['blocking.pause'],
    paused: await getPaused(),
  };
}

async function state(tabId: number): Promise<BlockingState> {
  const { blocking } = await currentSettings();
  const { site, categories, total } = await counter.breakdown(tabId);
  return {
    tabId,
    site,
    total: total ?? categories.reduce((n, c) => n + c.count, 0),
    categories,
    paused: !blocking.locked && isPausedIn(await getPaused(), site),
    locked: blocking.locked,
  };
}

export const blockingHandlers: Pick<
  Handlers,
  'blocking.state' | 'blocking.pause' | 'blocking.resume' | 'blocking.settings' | 'blocking.setCategory'
> = {
  'blocking.state': ({ tabId }) => state(tabId),
  'blocking.pause': async ({ site }) => {
    const domain = siteParam(site);
    if ((await currentSettings()).locks['blocking.pause'])
      throw new KontorError('forbidden', 'blocking is set by your organisation and cannot be paused');
    await setPaused([...(await getPaused()), domain]);
    await applyBlocking();
    await repaintAll();
    return { site: domain, paused: true as const };
  },
  'blocking.resume': async ({ site }) => {
    const domain = siteParam(site);
    // Resuming removes every pause that covers the site, so it is blocked again afterwards.
    await setPaused((await getPaused()).filter((p) => !hostMatchesDomain(domain, p) && !hostMatchesDomain(p, domain)));
    await applyBlocking();
    await repaintAll();
    return { site: domain, paused: false as const };
  },
  'blocking.settings': () => settingsView(),
  'blocking.setCategory': async ({ category, enabled }) => {
    if ((await currentSettings()).locks[`blocking.categories.${category}`]) {
      throw new KontorError('forbidden', `the category "${category}" is set by your organisation`);
    }
    const mine = (await getUserSettings()).categories ?? {};
    await updateUserSettings({ categories: { ...mine, [category]: enabled } });
    await applyBlocking();
    return settingsView();
  },
};
