/**
 * The few Chromium-only APIs Kontor uses that webextension-polyfill does not type.
 * Only src/shared/browser.ts may touch `chrome` directly.
 */
declare namespace chrome {
  namespace sidePanel {
    function open(options: { tabId?: number; windowId?: number }): Promise<void>;
    function setOptions(options: { tabId?: number; path?: string; enabled?: boolean }): Promise<void>;
    function setPanelBehavior(behavior: { openPanelOnActionClick: boolean }): Promise<void>;
  }
  namespace runtime {
    const id: string;
  }
}
// eslint-disable-next-line no-var
declare var chrome: typeof chrome | undefined;
