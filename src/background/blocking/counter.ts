/**
 * How a browser counts blocked requests per tab: one interface, one implementation per
 * browser (count-requests.ts for Firefox, count-dnr.ts for Chromium), chosen once from what
 * the browser wrapper says it supports (`countingStrategy`), as channel/transport.ts holds the
 * gateway behind one interface.
 */
import { browser } from '../../shared/browser';
import type { BlockingState } from '../../shared/protocol';

export const BADGE = { pausedText: '⏸', countColour: '#5b6470', pausedColour: '#9a6700' } as const;

/** What the counter needs from blocking at registration. */
export interface CounterContext {
  /** Resolves when the background is ready (policy and settings read). */
  ready: Promise<unknown>;
  /** Paints one tab's badge (works out whether the site is paused, then calls `paint`). */
  repaint(tabId: number, site: string | null, onCommit?: boolean): Promise<void>;
}

/** One tab's blocked requests, for the popup. */
export interface TabBreakdown {
  site: string | null;
  categories: BlockingState['categories'];
  /** The exact total where the breakdown may be stale; null: the sum of `categories`. */
  total: number | null;
}

export interface BlockCounter {
  /** Adds the counter's listeners; called synchronously at the background's top level. */
  register(ctx: CounterContext): void;
  /**
   * Paints one tab's badge: the blocked count or the paused mark. `onCommit`: the tab just
   * changed page (Chromium has then already reset its badge to the browser's own count).
   */
  paint(tabId: number, paused: boolean, onCommit: boolean): Promise<void>;
  breakdown(tabId: number): Promise<TabBreakdown>;
  /** The paused sites or the policy's lock changed. */
  pausedChanged(): Promise<void>;
}

export function hostOf(url: string): string | null {
  try {
    const u = new URL(url);
    return /^https?:$/.test(u.protocol) ? u.hostname : null;
  } catch {
    return null;
  }
}

/** The tab's URL and host, for web pages only. */
export async function tabPage(tabId: number): Promise<{ url: string; site: string } | null> {
  const tab = await browser.tabs.get(tabId).catch(() => undefined);
  if (!tab?.url || !/^https?:/.test(tab.url)) return null;
  return { url: tab.url, site: new URL(tab.url).hostname };
}
