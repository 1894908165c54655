/**
 * A Kontor page's one long-lived connection to the background (src/background/page-ports.ts):
 * its requests go out on it and the background's push events come back on it.
 *
 * Why not `runtime.sendMessage`: each call opens a channel to every extension context and
 * closes it again, a round trip of about 1.2 ms on the test machine against 0.4 ms on an open
 * port, and the background paid about 1 ms of its own time for every event it broadcast. A port
 * also reaches only the page that opened it: a content script cannot send a page events, and
 * the background sends events only to its own pages.
 *
 * The background may stop (an idle service worker, Firefox's event page). The port then
 * closes: requests still waiting are refused as `unavailable` (they may or may not have run),
 * the next request opens a new port (which starts the background again), and a page that
 * listens for events connects again at once and is told to re-read what it shows.
 */
import { browser, type Runtime } from './browser';
import { KontorError } from './errors';
import { isPushEvent, type PushEvent } from './events';
import { PAGE_PORT } from './ids';

export { PAGE_PORT };

/** page -> background */
export interface PortRequest {
  id: number;
  envelope: unknown;
}

/** background -> page: the answer to request `id`, or a push event */
export type PortMessage = { id: number; reply: unknown } | { push: PushEvent };

export function isPortRequest(m: unknown): m is PortRequest {
  return typeof m === 'object' && m !== null && Number.isSafeInteger((m as PortRequest).id) && 'envelope' in m;
}

/** What a page's listeners are told after the port was closed: events may have been missed. */
const RESYNC: PushEvent[] = [
  { kontor: 1, event: 'channel', type: 'status', conversationId: null },
  { kontor: 1, event: 'contact', type: 'pending' },
];

let port: Runtime.Port | null = null;
let nextId = 1;
const pending = new Map<number, { resolve(reply: unknown): void; reject(e: Error): void }>();
const listeners = new Set<(e: PushEvent) => void>();
/** when the current port was opened, and the wait before the next one if ports keep closing at once */
let openedAt = 0;
let retryMs = 0;

function onMessage(m: unknown): void {
  if (typeof m !== 'object' || m === null) return;
  if ('push' in m) {
    const e = (m as { push: unknown }).push;
    if (isPushEvent(e)) for (const l of listeners) l(e);
    return;
  }
  const id = (m as { id?: unknown }).id;
  const waiting = typeof id === 'number' ? pending.get(id) : undefined;
  if (!waiting) return;
  pending.delete(id as number);
  waiting.resolve((m as { reply?: unknown }).reply);
}

function connection(): Runtime.Port {
  if (port) return port;
  const p = browser.runtime.connect({ name: PAGE_PORT });
  port = p;
  openedAt = Date.now();
  p.onMessage.addListener(onMessage);
  p.onDisconnect.addListener(() => {
    if (port === p) port = null;
    for (const w of pending.values()) w.reject(new KontorError('unavailable', 'the background restarted; try again'));
    pending.clear();
    if (!listeners.size) return;
    // a port refused or closed right away: back off instead of spinning
    retryMs = Date.now() - openedAt < 1000 ? Math.min(Math.max(retryMs * 2, 100), 5000) : 0;
    setTimeout(() => {
      if (port || !listeners.size) return;
      try {
        connection();
      } catch {
        return; // the extension was reloaded or removed: this page is gone with it
      }
      for (const e of RESYNC) for (const l of listeners) l(e);
    }, retryMs);
  });
  return p;
}

/** Sends a request envelope to the background; resolves with its reply (validated by the caller). */
export function request(envelope: unknown): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    try {
      connection().postMessage({ id, envelope } satisfies PortRequest);
    } catch (e) {
      pending.delete(id);
      reject(new KontorError('unavailable', `no connection to the background: ${(e as Error).message}`));
    }
  });
}

/** Calls `listener` for each valid push event; returns the unsubscribe. */
export function subscribe(listener: (e: PushEvent) => void): () => void {
  listeners.add(listener);
  connection();
  return () => listeners.delete(listener);
}
