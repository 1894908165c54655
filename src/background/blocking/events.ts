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
import { addBlocked, badgeText, emptyRecord, isPausedIn } from './counts';
import { applyBlocking, currentSettings } from './apply';
import { onPolicyChange } from '../policy';
import { redirectsOnPage } from './feedback';
import { forgetTabRecord, getPaused, readTab, serial, writeTab } from './store';

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

/** Paints one tab's badge from its record: the blocked count, or the paused mark. */
export async function paintBadge(tabId: number): Promise<void> {
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
  else await Promise.all([clearTabBadgeText(tabId), browser.action.setBadgeBackgroundColor({ tabId, color: COUNT_COLOUR })]).catch(() => undefined);
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
    }).then(() => ready.then(() => paintBadge(d.tabId)));
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

const correctionTimers = new Map<number, ReturnType<typeof setTimeout>>();

/**
 * Chromium's badge counts every action DNR took on the page, parameter-stripping redirects
 * included; Kontor's count is blocked requests only. After frames commit or finish loading,
 * the redirects not yet taken off are subtracted. A redirect of a subresource after the page
 * finished loading stays in the badge until the next frame event (the popup is exact).
 */
async function correctBadge(tabId: number): Promise<void> {
  // In the queue, so a page change (which resets `uncounted`) cannot fall in between.
  await serial(async () => {
    const redirects = await redirectsOnPage(tabId);
    const record = await readTab(tabId);
    const done = record?.uncounted ?? 0;
    if (!record || redirects <= done) return;
    await adjustDnrActionCount(tabId, done - redirects);
    writeTab(tabId, { ...record, uncounted: redirects });
  });
}

function scheduleCorrection(tabId: number, ready: Promise<unknown>): void {
  if (tabId < 0 || correctionTimers.has(tabId)) return;
  correctionTimers.set(tabId, setTimeout(() => {
    correctionTimers.delete(tabId);
    void ready.then(() => correctBadge(tabId)).catch((e: unknown) => console.error('[kontor] badge correction failed', e));
  }, 150));
}

/** Chromium: the browser counts DNR actions per tab in the badge; Kontor only corrects it. */
function registerDnrCounting(ready: Promise<unknown>): void {
  void showDnrActionCount().catch((e: unknown) => console.error('[kontor] badge count unavailable', e));
  void browser.action.setBadgeBackgroundColor({ color: COUNT_COLOUR });
  browser.webNavigation.onCommitted.addListener((d: CommitDetails) => scheduleCorrection(d.tabId, ready));
  browser.webNavigation.onCompleted.addListener((d: { tabId: number }) => scheduleCorrection(d.tabId, ready));
}
