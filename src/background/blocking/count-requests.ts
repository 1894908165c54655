/**
 * Firefox (no DNR feedback API): a non-blocking webRequest error listener, observational only
 * (DNR decides; the worker may sleep between events). Firefox reports a DNR block as a
 * webRequest error (see isBlockedByClient) with the URL the popup needs to name host and
 * company; counts go into a record per tab (store.ts).
 */
import { browser, isBlockedByClient, setBadge } from '../../shared/browser';
import { addBlocked, badgeText, emptyRecord, summarize } from './counts';
import { BADGE, hostOf, tabPage, type BlockCounter, type CounterContext } from './counter';
import { forgetTabRecord, readTab, serial, writeTab } from './store';
import { loadTrackerDb } from './trackers';

interface ErrorDetails {
  tabId: number;
  url: string;
  type: string;
  error: string;
  timeStamp: number;
}
interface CommitDetails {
  tabId: number;
  frameId: number;
  url: string;
  timeStamp: number;
}

const badgeTimers = new Map<number, ReturnType<typeof setTimeout>>();
/** Coalesces repaints during a burst of blocked requests. */
function schedulePaint(tabId: number, ctx: CounterContext): void {
  if (badgeTimers.has(tabId)) return;
  badgeTimers.set(
    tabId,
    setTimeout(() => {
      badgeTimers.delete(tabId);
      void ctx.ready.then(async () => ctx.repaint(tabId, (await readTab(tabId))?.site ?? null));
    }, 150),
  );
}

export const requestCounter: BlockCounter = {
  register(ctx) {
    // A new top-level document starts a new count (the browser also clears the tab's badge).
    browser.webNavigation.onCommitted.addListener((d: CommitDetails) => {
      if (d.frameId !== 0) return;
      void serial(async () => {
        const current = await readTab(d.tabId);
        if (current && current.since > d.timeStamp) return;
        writeTab(d.tabId, emptyRecord(hostOf(d.url), d.timeStamp));
      }).then(() => void ctx.ready.then(() => ctx.repaint(d.tabId, hostOf(d.url), true)));
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
        schedulePaint(d.tabId, ctx);
      },
      { urls: ['<all_urls>'] },
    );
  },

  async paint(tabId, paused) {
    const record = await readTab(tabId);
    const text = paused ? BADGE.pausedText : badgeText(record?.total ?? 0);
    await setBadge(tabId, text, paused ? BADGE.pausedColour : BADGE.countColour).catch(() => undefined);
  },

  async breakdown(tabId) {
    const record = await serial(() => readTab(tabId));
    const site = record?.site ?? (await tabPage(tabId))?.site ?? null;
    const categories =
      record !== null && record.site === site ? summarize(record, await loadTrackerDb(browser.runtime.getURL('rules/trackers.json'))) : [];
    return { site, categories, total: null };
  },

  async pausedChanged() {
    // Every commit is observed anyway: nothing to narrow.
  },
};
