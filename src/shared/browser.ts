/**
 * The one module that knows browser differences (Chromium vs Firefox). Everything else
 * imports `browser` and the helpers from here, never `chrome` directly.
 */
import browser from 'webextension-polyfill';

export { browser };
export type { Runtime, Tabs } from 'webextension-polyfill';

/** Firefox has `runtime.getBrowserInfo`; Chromium does not. */
export const isFirefox: boolean = typeof (browser.runtime as { getBrowserInfo?: unknown }).getBrowserInfo === 'function';

export const browserName: 'firefox' | 'chromium' = isFirefox ? 'firefox' : 'chromium';

/** Origin of the extension's own pages, e.g. `chrome-extension://ID/`. */
export function extensionOrigin(): string {
  return browser.runtime.getURL('');
}

/**
 * Opens Kontor's side panel (Chromium) or sidebar (Firefox). Must be called directly from a
 * user-gesture handler in an extension page: both browsers refuse it otherwise, and any
 * `await` before the call loses the gesture.
 */
export function openSidePanel(windowId: number | undefined): Promise<void> {
  if (isFirefox) {
    const sidebar = (browser as unknown as { sidebarAction: { open(): Promise<void> } }).sidebarAction;
    return sidebar.open();
  }
  const sidePanel = (globalThis as { chrome?: typeof chrome }).chrome?.sidePanel;
  if (!sidePanel || windowId === undefined) return Promise.reject(new Error('side panel API unavailable'));
  return sidePanel.open({ windowId });
}

/** Sets the action badge for one tab; empty text clears it. */
export async function setBadge(tabId: number, text: string, color = '#5b6470'): Promise<void> {
  await browser.action.setBadgeText({ tabId, text });
  if (text) await browser.action.setBadgeBackgroundColor({ tabId, color });
}

/** The UI language the browser uses for `_locales` (e.g. `de`, `en-US`). */
export function uiLanguage(): string {
  return browser.i18n.getUILanguage();
}

/**
 * webRequest error text for a request a DNR rule blocked: Chromium reports
 * `net::ERR_BLOCKED_BY_CLIENT`; Firefox ESR 153 reports `NS_ERROR_ABORT` for a DNR block
 * (measured here; test/browser/blocking.firefox.test.ts). Firefox uses the same code when
 * another extension cancels a request, so there the count includes those too.
 */
export function isBlockedByClient(error: string): boolean {
  return error === 'net::ERR_BLOCKED_BY_CLIENT' || error === 'NS_ERROR_ABORT';
}

type ChromeDnr = typeof chrome.declarativeNetRequest;
function chromeDnr(): ChromeDnr | undefined {
  return (globalThis as { chrome?: typeof chrome }).chrome?.declarativeNetRequest;
}

/**
 * How this browser counts blocked requests per tab. `requests`: from webRequest errors, where
 * the extension may observe requests (the Firefox build asks for it: its only way to count DNR
 * blocks). `dnr`: the browser's own DNR action count and feedback API (Chromium, whose build
 * does not ask for webRequest: a listener alone slowed page loads there by about 30%,
 * docs/blocking.md).
 */
export const countingStrategy: 'requests' | 'dnr' =
  isFirefox && typeof (browser as { webRequest?: unknown }).webRequest === 'object' ? 'requests' : 'dnr';

/**
 * Chromium: let the browser paint the number of requests DNR acted on in the badge. It keeps
 * the count per tab and resets it on navigation; a tab's explicit badge text overrides it.
 */
export async function showDnrActionCount(): Promise<void> {
  await chromeDnr()?.setExtensionActionOptions({ displayActionCountAsBadgeText: true });
}

/** Chromium: changes the browser's DNR action count of one tab by `increment` (may be negative). */
export async function adjustDnrActionCount(tabId: number, increment: number): Promise<void> {
  await chromeDnr()?.setExtensionActionOptions({ tabUpdate: { tabId, increment } });
}

/** Chromium: clears a tab's own badge text (not '' but null) so the DNR count shows again. */
export async function clearTabBadgeText(tabId: number): Promise<void> {
  // @types/chrome omits null, which the API documents for exactly this.
  await (globalThis as { chrome?: typeof chrome }).chrome?.action.setBadgeText({ tabId, text: null as unknown as string });
}

/**
 * Chromium: the number in a tab's badge (the browser's DNR action count, which Kontor keeps
 * equal to the blocked requests), or null when the tab shows its own text (paused). Readable
 * without quota, unlike getMatchedRules.
 */
export async function badgeCount(tabId: number): Promise<number | null> {
  const text = await browser.action.getBadgeText({ tabId });
  return text === '' ? 0 : /^\d+$/.test(text) ? Number(text) : null;
}

export interface MatchedRule {
  rulesetId: string;
  ruleId: number;
  timeStamp: number;
}

/**
 * Chromium: the rules DNR matched for one tab's current document. Needs
 * `declarativeNetRequestFeedback`. Quota: 20 calls per 10 minutes per extension, permission or
 * not (measured with Chromium 156; only calls with a user gesture are exempt): callers must
 * ration and cache. Firefox has no such API: rejects there.
 */
export async function getMatchedRules(tabId: number): Promise<MatchedRule[]> {
  const dnr = chromeDnr();
  if (isFirefox || !dnr?.getMatchedRules) throw new Error('getMatchedRules is Chromium-only');
  // For a tab, Chromium answers with the matches of its current document (including the
  // navigation request that led to it), not of earlier pages: those move to tab -1.
  const { rulesMatchedInfo } = await dnr.getMatchedRules({ tabId });
  return rulesMatchedInfo.map((m) => ({ rulesetId: m.rule.rulesetId, ruleId: m.rule.ruleId, timeStamp: m.timeStamp }));
}
