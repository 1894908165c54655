/**
 * Partners as a feature: the directory (options page), detection on partner pages (content
 * script, popup), discovery when the popup opens, and the hourly manifest refresh.
 */
import { browser } from '../../shared/browser';
import { effectiveSettings } from '../../shared/policy/effective';
import { feature } from '../feature';
import { getPolicy, onPolicyChange, policySettled } from '../policy';
import { getUserSettings } from '../settings';
import { currentTabState, handleDetect, inspectTab, rebuildIndex, watchNavigation } from './detect';
import { gateOffer } from './offer';
import { acceptNewKey, addPartner, listPartners, onDirectoryChange, refreshDue, refreshPartner, removePartner } from './directory';

const MANIFEST_ALARM = 'kontor-manifests';

export const partnersFeature = feature({
  handlers: {
    // the message's own url is validated but not believed: a content script reports the page it runs in
    'page.detect': (_params, ctx) => handleDetect(ctx.pageUrl, ctx.tabId),
    'tab.state': ({ tabId }) => currentTabState(tabId),
    'partners.list': async () => {
      const settings = effectiveSettings(getPolicy().policy, await getUserSettings());
      return { partners: await listPartners(), canAdd: settings.discovery.allowUserPartners };
    },
    'partners.add': ({ domain }) => addPartner(domain),
    'partners.remove': async ({ domain }) => {
      await removePartner(domain);
      return { removed: true as const };
    },
    'partners.refresh': async ({ domain }) => {
      const p = await refreshPartner(domain);
      if (!p) throw new Error('partner vanished');
      return p;
    },
    'partners.acceptKey': async ({ domain }) => {
      const p = await acceptNewKey(domain);
      if (!p) throw new Error('partner vanished');
      return p;
    },
    'discovery.inspect': async ({ tabId }) => {
      const { discovery } = effectiveSettings(getPolicy().policy, await getUserSettings());
      return gateOffer(await inspectTab(tabId), discovery.offerNonPartners);
    },
  },
  init: rebuildIndex,
  register(ready) {
    watchNavigation(ready);
    onPolicyChange(() => void rebuildIndex().then(() => refreshDue()));
    onDirectoryChange(() => void rebuildIndex());
    browser.alarms.onAlarm.addListener((alarm) => {
      if (alarm.name === MANIFEST_ALARM) void ready.then(() => refreshDue());
    });
    browser.runtime.onStartup.addListener(() => void ready.then(() => refreshDue()));
    browser.runtime.onInstalled.addListener(() => {
      void browser.alarms.create(MANIFEST_ALARM, { periodInMinutes: 60 });
      void ready.then(async () => {
        await policySettled();
        await refreshDue();
      });
    });
  },
});
