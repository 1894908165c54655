/** Where each browser looks for policy, and the ids it knows Kontor by. */
import { CHROMIUM_EXTENSION_ID, GECKO_ID } from '../../src/shared/ids';

export { CHROMIUM_EXTENSION_ID, GECKO_ID };

export type ChromiumBrowser = 'chrome' | 'chromium' | 'edge';

export const BROWSER_NAMES: Record<ChromiumBrowser, string> = {
  chrome: 'Google Chrome',
  chromium: 'Chromium',
  edge: 'Microsoft Edge',
};

/** Linux managed policy directories (every *.json in them is read). */
export const LINUX_MANAGED_DIRS: Record<ChromiumBrowser, string> = {
  chrome: '/etc/opt/chrome/policies/managed',
  chromium: '/etc/chromium/policies/managed',
  edge: '/etc/opt/edge/policies/managed',
};

/** Windows policy roots under HKEY_LOCAL_MACHINE (Chromium has no Windows policy root of its own here). */
export const WINDOWS_POLICY_ROOTS = {
  chrome: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome',
  edge: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Edge',
} as const;

/** macOS preference domains: the browser's own, and the one its extension policy lives in. */
export const MAC_DOMAINS = {
  chrome: 'com.google.Chrome',
  edge: 'com.microsoft.Edge',
} as const;

export const extensionPolicyKey = (root: string, id: string) => `${root}\\3rdparty\\extensions\\${id}\\policy`;
export const macExtensionDomain = (browserDomain: string, id: string) => `${browserDomain}.extensions.${id}`;

/** Store update URLs for force installation; override with --chrome-update-url etc. when self-hosting. */
export const DEFAULT_UPDATE_URLS = {
  chrome: 'https://clients2.google.com/service/update2/crx',
  edge: 'https://edge.microsoft.com/extensionwebstorebase/v1/crx',
  firefox: 'https://addons.mozilla.org/firefox/downloads/latest/kontor/latest.xpi',
} as const;
