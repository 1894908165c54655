/**
 * Counting blocked requests per tab and painting the badge.
 *
 * Chromium: no request events at all. The browser counts DNR actions per tab and paints them
 * in the badge itself (showDnrActionCount); the popup asks getMatchedRules (feedback.ts). A
 * webRequest listener, even a non-blocking one, made pages load about 30% slower there.
 *
 * Firefox (no DNR feedback API): a non-blocking webRequest error listener, observational only
 * (DNR decides; the worker may sleep between events). Firefox reports a DNR block as a
 * webRequest error (see isBlockedByClient) with the URL the popup needs to name host and company.
 */
import { adjustDnrActionCount, browser, canObserveRequests, clearTabBadgeText, isBlockedByClient, isFirefox, setBadge, showDnrActionCount } from '../../shared/browser';
import { addBlocked, badgeText, emptyRecord, isPausedIn, strippedParams } from './counts';
import { applyBlocking, currentSettings } from './apply';
import { onPolicyChange } from '../policy';
import { forgetMatched } from './feedback';
import { forgetTabRecord, getPaused, pausedNow, readTab, serial, writeTab } from './store';

const PAUSED_BADGE = '⏸';
const COUNT_COLOUR = '#5b6470';
const PAUSED_COLOUR = '#9a6700';

function hostOf(url: string): string | null {
  try {
    const u = new URL(url);
    return /^https?:$/.test(u.protocol) ? u.hostname : null;
  } catch {
    return null;
  }
}

/**
 * Paints one tab's badge from its record: the blocked count, or the paused mark. `onCommit`:
 * the tab just changed page, and Chromium has already reset its badge to the browser's count,
 * so only a paused mark needs painting (no extension calls on an ordinary page load).
 */
export async function paintBadge(tabId: number, onCommit = false): Promise<void> {
  const record = await readTab(tabId);
  const { blocking } = await currentSettings();
  const paused = !blocking.locked && isPausedIn(await getPaused(), record?.site ?? null);
  if (isFirefox) {
    const text = paused ? PAUSED_BADGE : badgeText(record?.total ?? 0);
    await setBadge(tabId, text, paused ? PAUSED_COLOUR : COUNT_COLOUR).catch(() => undefined);
    return;
  }
  // Chromium: a tab's own badge text hides the browser's DNR count, so the paused mark is set
  // as tab text and removed again (null, not '') to bring the count back.
  if (paused) await setBadge(tabId, PAUSED_BADGE, PAUSED_COLOUR).catch(() => undefined);
  else if (!onCommit) await Promise.all([clearTabBadgeText(tabId), browser.action.setBadgeBackgroundColor({ tabId, color: COUNT_COLOUR })]).catch(() => undefined);
}

const badgeTimers = new Map<number, ReturnType<typeof setTimeout>>();
/** Coalesces repaints during a burst of blocked requests. */
function schedulePaint(tabId: number, ready: Promise<unknown>): void {
  if (badgeTimers.has(tabId)) return;
  badgeTimers.set(tabId, setTimeout(() => {
    badgeTimers.delete(tabId);
    void ready.then(() => paintBadge(tabId));
  }, 150));
}

/** Repaints every open tab (after a pause, resume or policy change). */
export async function repaintAll(): Promise<void> {
  for (const tab of await browser.tabs.query({})) if (tab.id !== undefined) await paintBadge(tab.id);
}

interface ErrorDetails { tabId: number; url: string; type: string; error: string; timeStamp: number }
interface CommitDetails { tabId: number; frameId: number; url: string; timeStamp: number }

/**
 * Registers blocking's listeners. Must be called synchronously at the background's top
 * level so a worker woken by one of these events sees it; work waits for `ready`.
 */
export function registerBlocking(ready: Promise<unknown>): void {
  if (canObserveRequests()) registerRequestCounting(ready);
  else registerDnrCounting(ready);
  // A new top-level document starts a new count (the browser also clears the tab's badge).
  // Chromium keeps only the page's start time: getMatchedRules is asked for matches since then.
  browser.webNavigation.onCommitted.addListener((d: CommitDetails) => {
    if (d.frameId !== 0) return;
    void serial(async () => {
      const current = await readTab(d.tabId);
      if (current && current.since > d.timeStamp) return;
      writeTab(d.tabId, emptyRecord(hostOf(d.url), d.timeStamp));
    }).then(() => {
      // Chromium paints the count itself: only a paused site needs a badge call on commit.
      const paused = pausedNow();
      if (isFirefox || paused === undefined || paused.length > 0) void ready.then(() => paintBadge(d.tabId, true));
    });
  });
  browser.tabs.onRemoved.addListener((tabId) => void serial(() => forgetTabRecord(tabId)));
  onPolicyChange(() => void applyBlocking().then(repaintAll));
  void ready.then(() => applyBlocking());
}

/** Firefox: counts DNR blocks from webRequest errors, with the blocked URL's host. */
function registerRequestCounting(ready: Promise<unknown>): void {
  browser.webRequest.onErrorOccurred.addListener(
    (d: ErrorDetails) => {
      if (d.tabId < 0 || d.type === 'main_frame' || !isBlockedByClient(d.error)) return;
      const host = hostOf(d.url);
      if (!host) return;
      void serial(async () => {
        const record = (await readTab(d.tabId)) ?? emptyRecord(null, 0);
        writeTab(d.tabId, addBlocked(record, host, d.timeStamp));
      });
      schedulePaint(d.tabId, ready);
    },
    { urls: ['<all_urls>'] },
  );
}

/** URL each frame started navigating to, until it commits (tabId:frameId). */
const starting = new Map<string, string>();

/**
 * Chromium: the browser counts DNR actions per tab in the badge. That count includes each
 * tracking-parameter strip (a redirect), which is not a blocked request: subtract those, seen
 * from the frame's start and committed URLs (no getMatchedRules: it has a small quota). A
 * strip of a subresource (rare; a few ads rules) is not seen and stays in the badge; the
 * popup's breakdown leaves it out.
 */
function registerDnrCounting(ready: Promise<unknown>): void {
  void showDnrActionCount().catch((e: unknown) => console.error('[kontor] badge count unavailable', e));
  void browser.action.setBadgeBackgroundColor({ color: COUNT_COLOUR });
  // Filtered in the browser: navigations without a query string never wake the worker here.
  const withQuery = { url: [{ queryContains: '=' }] };
  browser.webNavigation.onBeforeNavigate.addListener((d: { tabId: number; frameId: number; url: string }) => {
    if (d.tabId >= 0) starting.set(`${d.tabId}:${d.frameId}`, d.url);
  }, withQuery);
  browser.webNavigation.onCommitted.addListener((d: CommitDetails) => {
    const key = `${d.tabId}:${d.frameId}`;
    const before = starting.get(key);
    starting.delete(key);
    const stripped = before ? strippedParams(before, d.url) : 0;
    // After the top-level commit handler (the browser resets the tab's count on commit).
    if (stripped > 0) void serial(() => adjustDnrActionCount(d.tabId, -stripped)).catch(() => undefined);
  });
  browser.tabs.onRemoved.addListener((tabId) => {
    forgetMatched(tabId);
    for (const key of starting.keys()) if (key.startsWith(`${tabId}:`)) starting.delete(key);
  });
}
