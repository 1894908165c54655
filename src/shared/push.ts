/** Sending and receiving push events (events.ts) over runtime messaging. */
import { browser, type Runtime } from './browser';
import { isPushEvent, type PushEvent } from './events';

/** Background: tells every open Kontor page; nobody listening is not an error. */
export function push(e: PushEvent): void {
  void browser.runtime.sendMessage(e).catch(() => undefined);
}

/** Extension pages: calls `listener` for each valid push event; returns the unsubscribe. */
export function onPush(listener: (e: PushEvent) => void): () => void {
  const l = (message: unknown, sender: Runtime.MessageSender): undefined => {
    if (sender.tab === undefined && sender.id === browser.runtime.id && isPushEvent(message)) listener(message);
    return undefined;
  };
  browser.runtime.onMessage.addListener(l);
  return () => browser.runtime.onMessage.removeListener(l);
}
