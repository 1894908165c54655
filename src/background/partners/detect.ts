/**
 * Partner detection in the background. URL matching happens here, on navigation events
 * (including single-page apps' pushState), against a local index: nothing leaves the
 * browser. The content script only runs on partner and profile hosts and only reads public
 * signals when asked; those signals never verify anything, they can only produce an
 * "unverified" hint.
 */
import { browser } from '../../shared/browser';
import type { Discovery, TabState } from '../../shared/protocol';
import { normalizeDomain } from '../../shared/policy/domain';
import { forgetTab, getTabState, listFlaggedTabs, updateTabState } from '../tabs';
import { listPartners } from './directory';
import { buildIndex, type PartnerIndex } from './matcher';
import { profileHostOf } from './profiles';
import { readPageSignals, type PageSignals } from './signals';
import { domainFilters, narrowable, type NarrowableListener } from '../wake';

const DETECTOR_ID = 'kontor-partner-detector';
let index: PartnerIndex = buildIndex([]);

/** Rebuilds the index and the detector registration after any directory or policy change. */
export async function rebuildIndex(): Promise<void> {
  index = buildIndex(await listPartners());
  narrowWakeUps();
  await registerDetector(index.patterns).catch((e: unknown) => console.error('[kontor] detector registration', e));
  // Open tabs follow a directory change (a new policy partner, a removed one) at once.
  for (const tab of await browser.tabs.query({ url: ['http://*/*', 'https://*/*'] })) {
    if (tab.id !== undefined && tab.url) await evaluateTab(tab.id, tab.url).catch(() => undefined);
  }
}

async function registerDetector(patterns: string[]): Promise<void> {
  const existing = await browser.scripting.getRegisteredContentScripts({ ids: [DETECTOR_ID] });
  if (patterns.length === 0) {
    if (existing.length) await browser.scripting.unregisterContentScripts({ ids: [DETECTOR_ID] });
    return;
  }
  const script = { id: DETECTOR_ID, matches: patterns, js: ['content.js'], runAt: 'document_idle' as const, allFrames: false };
  if (existing.length) await browser.scripting.updateContentScripts([script]);
  else await browser.scripting.registerContentScripts([{ ...script, persistAcrossSessions: false }]);
}

/**
 * Tabs whose stored state shows a partner or a hint. Every other tab is plain and has nothing
 * stored, so ordinary browsing touches no storage, not even on a tab's first page. Read from
 * storage.session once per worker start: a stopped worker comes back with it.
 */
let flagged: Promise<Set<number>> | undefined;
const flaggedTabs = (): Promise<Set<number>> => (flagged ??= listFlaggedTabs());

/**
 * Navigation and tab-close listeners (watchNavigation), narrowed so that only navigations on
 * partner and profile hosts wake the background, and closing a tab only while some tab is
 * flagged. Leaving a partner page for another site needs no event: the browser resets the
 * tab's icon and title on a new document, and the stale stored state is replaced the next
 * time the UI asks (currentTabState) or dropped when the tab closes.
 */
let wake: { commit: NarrowableListener; history: NarrowableListener; removed: NarrowableListener } | undefined;
function narrowWakeUps(): void {
  if (!wake) return;
  const hosts = domainFilters(index.domains);
  wake.commit.narrow(hosts);
  wake.history.narrow(hosts);
  void flaggedTabs().then(followFlags);
}
/** Tab close wakes the background only while some tab is flagged. */
function followFlags(flags: Set<number>): void {
  wake?.removed.narrow(flags.size > 0 ? 'all' : []);
}
function flag(flags: Set<number>, tabId: number, on: boolean): void {
  if (on) flags.add(tabId);
  else flags.delete(tabId);
  followFlags(flags);
}

/** Re-evaluates one tab's URL; called on navigation, in-page navigation and detector reports. */
export async function evaluateTab(tabId: number, url: string): Promise<TabState> {
  const match = index.match(url);
  const flags = await flaggedTabs();
  if (!match && !flags.has(tabId)) return { tabId, url, match: null, hint: null };
  const previous = await getTabState(tabId);
  // A hint belongs to the page it was read from.
  const hint = previous.url === url ? previous.hint : null;
  let state: TabState;
  if (match || hint) {
    state = await updateTabState(tabId, { url, match, hint: match ? null : hint });
    flag(flags, tabId, true);
  } else {
    // back to plain: nothing stays stored for the tab
    state = { tabId, url, match: null, hint: null };
    flag(flags, tabId, false);
    await forgetTab(tabId);
  }
  // Ordinary browsing (no partner before or after) costs no action update at all.
  if (match || previous.match) await paintAction(tabId, state);
  return state;
}

/** A closed tab: its stored state, if it had any, goes. */
export async function forgetTabDetection(tabId: number): Promise<void> {
  const flags = await flaggedTabs();
  if (!flags.has(tabId)) return;
  flag(flags, tabId, false);
  await forgetTab(tabId);
}

async function paintAction(tabId: number, state: TabState): Promise<void> {
  const partner = state.match?.partner;
  const variant = partner ? 'icon-partner' : 'icon';
  await browser.action.setIcon({ tabId, path: { 16: `icons/${variant}-16.png`, 32: `icons/${variant}-32.png` } }).catch(() => undefined);
  const title = partner
    ? browser.i18n.getMessage(partner.state === 'unverified' ? 'actionTitlePartnerUnverified' : 'actionTitlePartner', partner.name)
    : browser.i18n.getMessage('extName');
  await browser.action.setTitle({ tabId, title }).catch(() => undefined);
}

/** @param url the sender's page as the browser reports it (dispatcher's pageUrl) */
export async function handleDetect(url: string | undefined, tabId: number | undefined): Promise<{ partner: boolean }> {
  if (tabId === undefined || url === undefined || !/^https?:/.test(url)) return { partner: false };
  const state = await evaluateTab(tabId, url);
  return { partner: state.match !== null };
}

/** A page that links to a partner without being claimed by it: an unverified hint. */
function hintFrom(signals: PageSignals): TabState['hint'] {
  const claimed = [signals.website, ...signals.relMe, ...signals.organizations.flatMap((o) => [o.url, ...o.sameAs])];
  for (const link of claimed) {
    if (!link) continue;
    const match = index.match(link);
    if (match?.via === 'domain') return { domain: match.partner.domain, name: match.partner.name, reason: 'unconfirmed-profile' };
  }
  return null;
}

/**
 * Runs when the employee opens the popup: reads the tab's public signals once (a
 * `<link rel="kontor">` offer, and hints on profile pages). Nothing is fetched.
 */
export async function inspectTab(tabId: number): Promise<Omit<Discovery, 'offer'>> {
  const tab = await browser.tabs.get(tabId);
  const url = tab.url ?? '';
  const host = /^https?:/.test(url) ? new URL(url).hostname : '';
  const domain = normalizeDomain(host.replace(/^www\./, '')) ?? host;
  const match = index.match(url);
  let signals: PageSignals | null = null;
  if (host) {
    const [result] = await browser.scripting.executeScript({ target: { tabId }, func: readPageSignals }).catch(() => []);
    signals = (result?.result as PageSignals | undefined) ?? null;
  }
  let manifestUrl: string | null = null;
  if (signals?.kontorLink) {
    try {
      const u = new URL(signals.kontorLink);
      if (u.protocol === 'https:') manifestUrl = u.href;
    } catch {
      manifestUrl = null;
    }
  }
  const hint = !match && signals && profileHostOf(host) ? hintFrom(signals) : null;
  if (hint) {
    flag(await flaggedTabs(), tabId, true);
    await updateTabState(tabId, { url, hint });
  }
  return { domain, manifestUrl, partner: match !== null, hint };
}

/**
 * Follows navigations and in-page navigations (LinkedIn and XING are single-page apps) on
 * partner and profile hosts, and forgets closed flagged tabs. Call in the background's first
 * turn; the listeners narrow once the index is built.
 */
export function watchNavigation(ready: Promise<unknown>): void {
  const onNav = (details: { tabId: number; frameId: number; url: string }) => {
    if (details.frameId !== 0) return;
    void ready.then(async () => {
      await evaluateTab(details.tabId, details.url);
    });
  };
  wake = {
    commit: narrowable(browser.webNavigation.onCommitted, onNav),
    // pushState, replaceState and back/forward inside a single-page app (LinkedIn, XING).
    history: narrowable(browser.webNavigation.onHistoryStateUpdated, onNav),
    removed: narrowable(browser.tabs.onRemoved, (tabId: number) => void ready.then(() => forgetTabDetection(tabId))),
  };
  // No narrowing in this turn: the event that woke the worker must still arrive. rebuildIndex
  // narrows once the directory is read.
}

/** The state of a tab as the UI needs it now (stored state is skipped for ordinary pages). */
export async function currentTabState(tabId: number): Promise<TabState> {
  const tab = await browser.tabs.get(tabId).catch(() => undefined);
  const stored = await getTabState(tabId);
  if (!tab?.url || stored.url === tab.url) return stored;
  return evaluateTab(tabId, tab.url);
}
