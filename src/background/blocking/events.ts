/**
 * Counting blocked requests per tab and painting the badge. The browser decides how
 * (counter.ts): Firefox counts from request events (count-requests.ts), Chromium lets DNR
 * count and asks its feedback API (count-dnr.ts). The choice is made once, here.
 */
import { browser, countingStrategy } from '../../shared/browser';
import { onPolicyChange } from '../policy';
import { applyBlocking, currentSettings } from './apply';
import { dnrCounter } from './count-dnr';
import { requestCounter } from './count-requests';
import { hostOf, type BlockCounter } from './counter';
import { isPausedIn } from './counts';
import { getPaused } from './store';

export const counter: BlockCounter = countingStrategy === 'requests' ? requestCounter : dnrCounter;

/** Paints one tab's badge; `site`: the host of the tab's page. */
export async function paintBadge(tabId: number, site: string | null, onCommit = false): Promise<void> {
  const { blocking } = await currentSettings();
  const paused = !blocking.locked && isPausedIn(await getPaused(), site);
  await counter.paint(tabId, paused, onCommit);
}

/** Repaints every open tab (after a pause, resume or policy change). */
export async function repaintAll(): Promise<void> {
  await counter.pausedChanged();
  for (const tab of await browser.tabs.query({})) if (tab.id !== undefined) await paintBadge(tab.id, tab.url ? hostOf(tab.url) : null);
}

/**
 * Registers blocking's listeners. Must be called synchronously at the background's top
 * level so a worker woken by one of these events sees it; work waits for `ready`.
 */
export function registerBlocking(ready: Promise<unknown>): void {
  counter.register({ ready, repaint: paintBadge });
  onPolicyChange(() => void applyBlocking().then(repaintAll));
  void ready.then(() => applyBlocking());
}
