/**
 * Blocking's stored state. Paused sites live in storage.local (remembered across restarts;
 * the dynamic rules that enforce them persist on their own, this list is what the UI shows
 * and what the rules are rebuilt from). Per-tab counts live in storage.session: a stopped
 * service worker comes back with them, a browser restart forgets them.
 *
 * All per-tab updates run through one queue so a burst of blocked-request events cannot lose
 * counts in concurrent read-modify-write cycles; writes are coalesced.
 */
import { storage } from '../storage';
import type { TabRecord } from './counts';

let pausedCache: string[] | undefined;

export async function getPaused(): Promise<string[]> {
  if (pausedCache) return pausedCache;
  pausedCache = await storage.get('paused');
  return pausedCache;
}

export async function setPaused(sites: readonly string[]): Promise<void> {
  const next = [...new Set(sites)].sort();
  await storage.set('paused', next);
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
  const record = (await storage.getEntry('blockingTab', String(tabId))) ?? null;
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
    if (r) items[id] = r;
  }
  dirty.clear();
  await storage.setEntries('blockingTab', items).catch((e: unknown) => console.error('[kontor] blocking counts not saved', e));
}

export async function forgetTabRecord(tabId: number): Promise<void> {
  cache.delete(tabId);
  dirty.delete(tabId);
  await storage.removeEntry('blockingTab', String(tabId));
}
