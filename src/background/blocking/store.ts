/**
 * Blocking's stored state. Paused sites live in storage.local (remembered across restarts;
 * the dynamic rules that enforce them persist on their own, this list is what the UI shows
 * and what the rules are rebuilt from). Per-tab counts live in storage.session: a stopped
 * service worker comes back with them, a browser restart forgets them.
 *
 * All per-tab updates run through one queue so a burst of blocked-request events cannot lose
 * counts in concurrent read-modify-write cycles; writes are coalesced.
 */
import * as v from 'valibot';
import { browser } from '../../shared/browser';
import type { TabRecord } from './counts';

const PAUSED_KEY = 'blocking:paused';
const tabKey = (tabId: number) => `blocking:tab:${tabId}`;
const PausedList = v.array(v.pipe(v.string(), v.maxLength(253)));
const Record_ = v.object({ site: v.nullable(v.string()), since: v.number(), total: v.number(), hosts: v.record(v.string(), v.number()) });

let pausedCache: string[] | undefined;

export async function getPaused(): Promise<string[]> {
  if (pausedCache) return pausedCache;
  const raw = (await browser.storage.local.get(PAUSED_KEY))[PAUSED_KEY];
  const parsed = v.safeParse(PausedList, raw);
  pausedCache = parsed.success ? parsed.output : [];
  return pausedCache;
}

export async function setPaused(sites: readonly string[]): Promise<void> {
  const next = [...new Set(sites)].sort();
  await browser.storage.local.set({ [PAUSED_KEY]: next });
  pausedCache = next;
}

const cache = new Map<number, TabRecord | null>();
const dirty = new Set<number>();
let flushTimer: ReturnType<typeof setTimeout> | undefined;
let queue: Promise<unknown> = Promise.resolve();

/** Runs `fn` after every earlier queued update. */
export function serial<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

export async function readTab(tabId: number): Promise<TabRecord | null> {
  if (cache.has(tabId)) return cache.get(tabId) ?? null;
  const raw = (await browser.storage.session.get(tabKey(tabId)))[tabKey(tabId)];
  const parsed = v.safeParse(Record_, raw);
  const record = parsed.success ? parsed.output : null;
  cache.set(tabId, record);
  return record;
}

/** Updates the in-memory record at once and writes it to storage.session shortly after. */
export function writeTab(tabId: number, record: TabRecord): void {
  cache.set(tabId, record);
  dirty.add(tabId);
  if (flushTimer === undefined) flushTimer = setTimeout(() => void flush(), 100);
}

async function flush(): Promise<void> {
  flushTimer = undefined;
  const items: Record<string, TabRecord> = {};
  for (const id of dirty) {
    const r = cache.get(id);
    if (r) items[tabKey(id)] = r;
  }
  dirty.clear();
  await browser.storage.session.set(items).catch((e: unknown) => console.error('[kontor] blocking counts not saved', e));
}

export async function forgetTabRecord(tabId: number): Promise<void> {
  cache.delete(tabId);
  dirty.delete(tabId);
  await browser.storage.session.remove(tabKey(tabId));
}
