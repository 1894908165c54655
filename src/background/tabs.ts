/**
 * Per-tab state the UI shows (URL seen, detection result). Kept in `storage.session` so a
 * service worker that the browser stopped comes back with it.
 */
import { browser } from '../shared/browser';
import type { TabState } from '../shared/protocol';

const PREFIX = 'tab:';
const key = (tabId: number) => `${PREFIX}${tabId}`;

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

/** Tabs with a stored state that shows a partner or a hint. */
export async function listFlaggedTabs(): Promise<Set<number>> {
  const all = (await browser.storage.session.get(null)) as Record<string, unknown>;
  const flagged = new Set<number>();
  for (const [k, value] of Object.entries(all)) {
    const state = value as Partial<TabState> | undefined;
    if (k.startsWith(PREFIX) && typeof state?.tabId === 'number' && (state.match || state.hint)) flagged.add(state.tabId);
  }
  return flagged;
}

export async function forgetTab(tabId: number): Promise<void> {
  await browser.storage.session.remove(key(tabId));
}
