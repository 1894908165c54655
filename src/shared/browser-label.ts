/**
 * How a browser names itself to its owner's other devices (issue 15): "Chromium on Linux". Kept
 * beside browser.ts because it reads the user agent; free of the extension API so it unit-tests.
 */

const OS: [RegExp, string][] = [
  [/windows/i, 'Windows'],
  [/mac ?os|macintosh|mac/i, 'macOS'],
  [/android/i, 'Android'],
  [/cros|chrome ?os/i, 'ChromeOS'],
  [/linux|x11/i, 'Linux'],
];

/** "Chromium on Linux" from what the browser says about its system (see ownSystemHint). */
export function deviceLabelFrom(browser: 'chromium' | 'firefox', hint: string): string {
  const name = browser === 'firefox' ? 'Firefox' : 'Chromium';
  const os = OS.find(([re]) => re.test(hint))?.[1];
  return os ? `${name} on ${os}` : name;
}

/** What this browser says about its system: the platform hint (userAgentData, Chromium only), else the user agent string. */
export function ownSystemHint(): string {
  const nav = globalThis.navigator as Navigator & { userAgentData?: { platform?: string } };
  return nav.userAgentData?.platform?.trim() || (nav.userAgent ?? '');
}
