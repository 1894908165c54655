/**
 * Background entry (Chromium service worker / Firefox event page). Listeners are registered
 * synchronously at top level so a woken worker sees the event that woke it; handlers wait
 * on one readiness promise instead of polling.
 */
import { browser, browserName, extensionOrigin, uiLanguage, type Runtime } from '../shared/browser';
import { effectiveSettings } from '../shared/policy/effective';
import { KontorError } from '../shared/errors';
import { channelHandlers } from './channel/handlers';
import { connect as connectChannel } from './channel/service';
import { blockingHandlers, registerBlocking } from './blocking/handlers';
import { createDispatcher, type Handlers } from './dispatcher';
import { acceptNewKey, addPartner, listPartners, onDirectoryChange, refreshDue, refreshPartner, removePartner } from './partners/directory';
import { currentTabState, handleDetect, inspectTab, rebuildIndex, watchNavigation } from './partners/detect';
import { getPolicy, loadPolicy, onPolicyChange, policySettled, watchPolicy } from './policy';
import { getUserSettings } from './settings';

const startedAt = Date.now();
const MANIFEST_ALARM = 'kontor-manifests';
const CHANNEL_ALARM = 'kontor-channel';

async function init(): Promise<void> {
  // Session storage is readable only by extension pages unless widened; keep it that way.
  const session = browser.storage.session as { setAccessLevel?(o: { accessLevel: string }): Promise<void> };
  await session.setAccessLevel?.({ accessLevel: 'TRUSTED_CONTEXTS' }).catch(() => undefined);
  await loadPolicy();
  await rebuildIndex();
  // The gateway connection comes up in the background; nothing waits for it.
  void connectChannel();
}
const ready = init();

const handlers: Handlers = {
  'app.status': () => ({
    version: browser.runtime.getManifest().version,
    browser: browserName,
    language: uiLanguage(),
    startedAt,
  }),
  // the message's own url is validated but not believed: a content script reports the page it runs in
  'page.detect': (_params, ctx) => handleDetect(ctx.pageUrl, ctx.tabId),
  'tab.state': ({ tabId }) => currentTabState(tabId),
  'policy.state': async () => {
    const { managed, problems, policy } = await policySettled();
    const locks = Object.entries(effectiveSettings(policy).locks).filter(([, on]) => on).map(([k]) => k);
    return { managed, problems: problems.map((p) => ({ path: p.path, message: p.message })), locks };
  },
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
  'discovery.inspect': ({ tabId }) => inspectTab(tabId),
  ...blockingHandlers,
  ...channelHandlers,
  'contact.request': async ({ domain }) => {
    const partner = (await listPartners()).find((p) => p.domain === domain);
    if (!partner) throw new KontorError('not_found', `${domain} is not a partner`);
    await browser.storage.session.set({ 'contact:pending': { domain, at: Date.now() } });
    return { partner };
  },
  'contact.pending': async () => {
    const pending = (await browser.storage.session.get('contact:pending'))['contact:pending'] as { domain: string } | undefined;
    const partner = pending ? (await listPartners()).find((p) => p.domain === pending.domain) ?? null : null;
    return { partner };
  },
};

const dispatch = createDispatcher(handlers, {
  extensionId: browser.runtime.id,
  extensionOrigin: extensionOrigin(),
  ready,
  onError: (kind, error) => console.error(`[kontor] ${kind} failed`, error),
});

browser.runtime.onMessage.addListener((message: unknown, sender: Runtime.MessageSender) => dispatch(message, sender));
watchPolicy();
registerBlocking(ready);
watchNavigation(ready);
onPolicyChange(() => void rebuildIndex().then(() => refreshDue()));
onDirectoryChange(() => void rebuildIndex());
browser.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === MANIFEST_ALARM) void ready.then(() => refreshDue());
  // A stopped service worker wakes here and reconnects to collect waiting messages.
  if (alarm.name === CHANNEL_ALARM) void ready.then(() => connectChannel());
});
browser.runtime.onStartup.addListener(() => void ready.then(() => refreshDue()));
browser.runtime.onInstalled.addListener(({ reason }) => {
  void browser.alarms.create(MANIFEST_ALARM, { periodInMinutes: 60 });
  void browser.alarms.create(CHANNEL_ALARM, { periodInMinutes: 1 });
  void ready.then(async () => {
    await policySettled();
    await refreshDue();
    // A first install shows the welcome page once, unless the policy switches it off.
    if (reason === 'install' && effectiveSettings(getPolicy().policy).showOnboarding) {
      await browser.tabs.create({ url: browser.runtime.getURL('options.html#welcome') });
    }
  });
});
