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
