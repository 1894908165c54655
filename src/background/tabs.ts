/**
 * Per-tab state the UI shows (URL seen, detection result). Kept in `storage.session` so a
 * service worker that the browser stopped comes back with it.
 */
import type { TabState } from '../shared/protocol';
import { storage } from './storage';

export async function getTabState(tabId: number): Promise<TabState> {
  return (await storage.getEntry('partnerTab', String(tabId))) ?? { tabId, url: null, match: null, hint: null };
}

export async function updateTabState(tabId: number, patch: Partial<Omit<TabState, 'tabId'>>): Promise<TabState> {
  const next = { ...(await getTabState(tabId)), ...patch, tabId };
  await storage.setEntries('partnerTab', { [tabId]: next });
  return next;
}

/** Tabs with a stored state that shows a partner or a hint. */
export async function listFlaggedTabs(): Promise<Set<number>> {
  const flagged = new Set<number>();
  for (const state of (await storage.entries('partnerTab')).values()) if (state.match || state.hint) flagged.add(state.tabId);
  return flagged;
}

export async function forgetTab(tabId: number): Promise<void> {
  await storage.removeEntry('partnerTab', String(tabId));
}
