/**
 * Counting blocked requests per tab and painting the badge. Observational only: the
 * webRequest listener is non-blocking (no JavaScript in the request path; DNR decides), and
 * the worker may sleep between events. Both browsers report a DNR block as a webRequest
 * error (see isBlockedByClient), with the URL the popup needs to name host and company.
 */
import { browser, isBlockedByClient, setBadge } from '../../shared/browser';
import { addBlocked, badgeText, emptyRecord, isPausedIn } from './counts';
import { applyBlocking, currentSettings } from './apply';
import { onPolicyChange } from '../policy';
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
  const text = paused ? PAUSED_BADGE : badgeText(record?.total ?? 0);
  await setBadge(tabId, text, paused ? PAUSED_COLOUR : COUNT_COLOUR).catch(() => undefined);
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
  // A new top-level document starts a new count (the browser also clears the tab's badge).
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
