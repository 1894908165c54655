/**
 * Chromium: no request events at all. The browser counts DNR actions per tab and paints them
 * in the badge itself (showDnrActionCount); the popup asks getMatchedRules (feedback.ts). A
 * webRequest listener, even a non-blocking one, made pages load about 30% slower there.
 * Kontor keeps no per-tab record in Chromium, so an ordinary page load wakes none of its code:
 * only navigations on paused sites (to paint the paused mark) and navigations with a query
 * string (to take tracking-parameter strips out of the count) do (wake.ts).
 */
import { adjustDnrActionCount, badgeCount, browser, clearTabBadgeText, setBadge, showDnrActionCount } from '../../shared/browser';
import { domainFilters, narrowable, type NarrowableListener } from '../wake';
import { currentSettings } from './apply';
import { strippedParams } from './counts';
import { BADGE, hostOf, tabPage, type BlockCounter } from './counter';
import { matchedGroups } from './feedback';
import { getPaused, serial } from './store';

interface CommitDetails {
  tabId: number;
  frameId: number;
  url: string;
  timeStamp: number;
}

/** URL each frame started navigating to, until it commits (tabId:frameId), and when. */
const starting = new Map<string, { url: string; at: number }>();
/** A navigation that never commits (a download, an error) is dropped after this long. */
const START_TTL_MS = 30_000;

/** The commit listener for paused sites, narrowed to them (none: removed). */
let pausedCommits: NarrowableListener | undefined;
async function narrowPausedCommits(): Promise<void> {
  const { blocking } = await currentSettings();
  pausedCommits?.narrow(blocking.locked ? [] : domainFilters(await getPaused()));
}

export const dnrCounter: BlockCounter = {
  /**
   * The browser's badge count includes each tracking-parameter strip (a redirect), which is
   * not a blocked request: subtract those, seen from the frame's start and committed URLs (no
   * getMatchedRules: it has a small quota). A strip of a subresource (rare; a few ads rules) is
   * not seen and stays in the badge; the popup's breakdown leaves it out.
   *
   * Only navigations with a query string wake the worker for this; the commit listener is
   * active only while such a navigation is under way. Commits on paused sites paint the paused
   * mark (narrowed to those sites). Nothing else: no per-tab record, no tab-close listener.
   */
  register(ctx) {
    void showDnrActionCount().catch((e: unknown) => console.error('[kontor] badge count unavailable', e));
    void browser.action.setBadgeBackgroundColor({ color: BADGE.countColour });
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
      if (d.frameId === 0) void ctx.ready.then(() => ctx.repaint(d.tabId, hostOf(d.url), true));
    });
    void ctx.ready.then(() => {
      settle();
      return narrowPausedCommits();
    });
  },

  // A tab's own badge text hides the browser's DNR count, so the paused mark is set as tab
  // text and removed again (null, not '') to bring the count back.
  async paint(tabId, paused, onCommit) {
    if (paused) await setBadge(tabId, BADGE.pausedText, BADGE.pausedColour).catch(() => undefined);
    else if (!onCommit)
      await Promise.all([clearTabBadgeText(tabId), browser.action.setBadgeBackgroundColor({ tabId, color: BADGE.countColour })]).catch(
        () => undefined,
      );
  },

  // Asks DNR feedback for the tab's current page (feedback.ts).
  async breakdown(tabId) {
    const page = await tabPage(tabId);
    if (!page) return { site: null, categories: [], total: null };
    const answer = await matchedGroups(tabId, page.url);
    // A stale breakdown (getMatchedRules quota) still comes with the exact total of the badge.
    const total = answer.fresh ? null : await badgeCount(tabId).catch(() => null);
    return { site: page.site, categories: answer.groups, total };
  },

  pausedChanged: narrowPausedCommits,
};
