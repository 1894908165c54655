/** Receiving push events (events.ts) in Kontor's pages, over the page's port (port.ts). */
import type { PushEvent } from './events';
import { subscribe } from './port';

/** Extension pages: calls `listener` for each valid push event; returns the unsubscribe. */
export function onPush(listener: (e: PushEvent) => void): () => void {
  return subscribe(listener);
}
