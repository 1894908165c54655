/**
 * Per-tab state the UI shows (URL seen, detection result). Kept in `storage.session` so a
 * service worker that the browser stopped comes back with it.
 */
import { browser } from '../shared/browser';
import type { TabState } from '../shared/protocol';

const key = (tabId: number) => `tab:${tabId}`;

export async function getTabState(tabId: number): Promise<TabState> {
  const stored = await browser.storage.session.get(key(tabId));
  const state = stored[key(tabId)] as TabState | undefined;
  return state ?? { tabId, url: null, match: null, hint: null };
}

export async function updateTabState(tabId: number, patch: Partial<Omit<TabState, 'tabId'>>): Promise<TabState> {
  const next = { ...(await getTabState(tabId)), ...patch, tabId };
  await browser.storage.session.set({ [key(tabId)]: next });
  return next;
}

export async function forgetTab(tabId: number): Promise<void> {
  await browser.storage.session.remove(key(tabId));
}
