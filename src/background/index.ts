/**
 * Background entry (Chromium service worker / Firefox event page). Listeners are registered
 * synchronously at top level so a woken worker sees the event that woke it; handlers wait
 * on one readiness promise instead of polling.
 */
import { browser, type Runtime, browserName, extensionOrigin, uiLanguage } from '../shared/browser';
import { createDispatcher, type Handlers } from './dispatcher';
import { forgetTab, getTabState, updateTabState } from './tabs';

const startedAt = Date.now();

async function init(): Promise<void> {
  // Session storage is readable only by extension pages unless widened; keep it that way.
  const session = browser.storage.session as { setAccessLevel?(o: { accessLevel: string }): Promise<void> };
  await session.setAccessLevel?.({ accessLevel: 'TRUSTED_CONTEXTS' }).catch(() => undefined);
}
const ready = init();

const handlers: Handlers = {
  'app.status': () => ({
    version: browser.runtime.getManifest().version,
    browser: browserName,
    language: uiLanguage(),
    startedAt,
  }),
  'page.detect': async ({ url }, ctx) => {
    if (ctx.tabId !== undefined) await updateTabState(ctx.tabId, { url, detected: false });
    return { match: null };
  },
  'tab.state': ({ tabId }) => getTabState(tabId),
};

const dispatch = createDispatcher(handlers, {
  extensionId: browser.runtime.id,
  extensionOrigin: extensionOrigin(),
  ready,
  onError: (kind, error) => console.error(`[kontor] ${kind} failed`, error),
});

browser.runtime.onMessage.addListener((message: unknown, sender: Runtime.MessageSender) => dispatch(message, sender));
browser.tabs.onRemoved.addListener((tabId) => void forgetTab(tabId));
browser.runtime.onInstalled.addListener(({ reason }) => {
  // A first install shows the welcome page once (an enterprise policy can switch it off).
  if (reason === 'install') void ready.then(() => showOnboarding());
});

async function showOnboarding(): Promise<void> {
  await browser.tabs.create({ url: browser.runtime.getURL('options.html#welcome') });
}
