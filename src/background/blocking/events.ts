/**
 * Counting blocked requests per tab and painting the badge.
 *
 * Chromium: no request events at all. The browser counts DNR actions per tab and paints them
 * in the badge itself (showDnrActionCount); the popup asks getMatchedRules (feedback.ts). A
 * webRequest listener, even a non-blocking one, made pages load about 30% slower there.
 * Kontor keeps no per-tab record in Chromium, so an ordinary page load wakes none of its code:
 * only navigations on paused sites (to paint the paused mark) and navigations with a query
 * string (to take tracking-parameter strips out of the count) do (wake.ts).
 *
 * Firefox (no DNR feedback API): a non-blocking webRequest error listener, observational only
 * (DNR decides; the worker may sleep between events). Firefox reports a DNR block as a
 * webRequest error (see isBlockedByClient) with the URL the popup needs to name host and company.
 */
import { adjustDnrActionCount, browser, canObserveRequests, clearTabBadgeText, isBlockedByClient, isFirefox, setBadge, showDnrActionCount } from '../../shared/browser';
import { addBlocked, badgeText, emptyRecord, isPausedIn, strippedParams } from './counts';
import { applyBlocking, currentSettings } from './apply';
import { onPolicyChange } from '../policy';
import { forgetTabRecord, getPaused, readTab, serial, writeTab } from './store';
import { domainFilters, narrowable, type NarrowableListener } from '../wake';

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
 * Paints one tab's badge: the blocked count (Firefox, from its record), or the paused mark.
 * `site`: the host of the tab's page. `onCommit`: the tab just changed page, and Chromium has
 * already reset its badge to the browser's count, so only a paused mark needs painting.
 */
export async function paintBadge(tabId: number, site: string | null, onCommit = false): Promise<void> {
  const { blocking } = await currentSettings();
  const paused = !blocking.locked && isPausedIn(await getPaused(), site);
  if (isFirefox) {
    const record = await readTab(tabId);
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
    void ready.then(async () => paintBadge(tabId, (await readTab(tabId))?.site ?? null));
  }, 150));
}

/** Chromium: the commit listener for paused sites, narrowed to them (none: removed). */
let pausedCommits: NarrowableListener | undefined;
async function narrowPausedCommits(): Promise<void> {
  const { blocking } = await currentSettings();
  pausedCommits?.narrow(blocking.locked ? [] : domainFilters(await getPaused()));
}

/** Repaints every open tab (after a pause, resume or policy change). */
export async function repaintAll(): Promise<void> {
  await narrowPausedCommits();
  for (const tab of await browser.tabs.query({})) if (tab.id !== undefined) await paintBadge(tab.id, tab.url ? hostOf(tab.url) : null);
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
  onPolicyChange(() => void applyBlocking().then(repaintAll));
  void ready.then(() => applyBlocking());
}

/** Firefox: counts DNR blocks from webRequest errors, with the blocked URL's host. */
function registerRequestCounting(ready: Promise<unknown>): void {
  // A new top-level document starts a new count (the browser also clears the tab's badge).
  browser.webNavigation.onCommitted.addListener((d: CommitDetails) => {
    if (d.frameId !== 0) return;
    void serial(async () => {
      const current = await readTab(d.tabId);
      if (current && current.since > d.timeStamp) return;
      writeTab(d.tabId, emptyRecord(hostOf(d.url), d.timeStamp));
    }).then(() => void ready.then(() => paintBadge(d.tabId, hostOf(d.url), true)));
  });
  browser.tabs.onRemoved.addListener((tabId) => void serial(() => forgetTabRecord(tabId)));
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

/** URL each frame started navigating to, until it commits (tabId:frameId), and when. */
const starting = new Map<string, { url: string; at: number }>();
/** A navigation that never commits (a download, an error) is dropped after this long. */
const START_TTL_MS = 30_000;

/**
 * Chromium: the browser counts DNR actions per tab in the badge. That count includes each
 * tracking-parameter strip (a redirect), which is not a blocked request: subtract those, seen
 * from the frame's start and committed URLs (no getMatchedRules: it has a small quota). A
 * strip of a subresource (rare; a few ads rules) is not seen and stays in the badge; the
 * popup's breakdown leaves it out.
 *
 * Only navigations with a query string wake the worker for this; the commit listener is
 * active only while such a navigation is under way. Commits on paused sites paint the paused
 * mark (narrowed to those sites). Nothing else: no per-tab record, no tab-close listener.
 */
function registerDnrCounting(ready: Promise<unknown>): void {
  void showDnrActionCount().catch((e: unknown) => console.error('[kontor] badge count unavailable', e));
  void browser.action.setBadgeBackgroundColor({ color: COUNT_COLOUR });
  let commits: NarrowableListener | undefined;
  const settle = () => {
    const now = Date.now();
    for (const [key, start] of starting) if (now - start.at > START_TTL_MS) starting.delete(key);
    commits?.narrow(starting.size > 0 ? 'all' : []);
  };
  // Filtered in the browser: navigations without a query string never wake the worker here.
  const withQuery = { url: [{ queryContains: '=' }] };
  browser.webNavigation.onBeforeNavigate.addListener((d: { tabId: number; frameId: number; url: string }) => {
    if (d.tabId < 0) return;
    starting.set(`${d.tabId}:${d.frameId}`, { url: d.url, at: Date.now() });
    settle();
  }, withQuery);
  commits = narrowable(browser.webNavigation.onCommitted, (d: CommitDetails) => {
    const key = `${d.tabId}:${d.frameId}`;
    const before = starting.get(key);
    starting.delete(key);
    settle();
    const stripped = before ? strippedParams(before.url, d.url) : 0;
    // After the browser's own commit handling (it resets the tab's count on commit).
    if (stripped > 0) void serial(() => adjustDnrActionCount(d.tabId, -stripped)).catch(() => undefined);
  });
  pausedCommits = narrowable(browser.webNavigation.onCommitted, (d: CommitDetails) => {
    if (d.frameId === 0) void ready.then(() => paintBadge(d.tabId, hostOf(d.url), true));
  });
  void ready.then(() => {
    settle();
    return narrowPausedCommits();
  });
}
