/**
 * The background's side of the pages' ports (src/shared/port.ts): requests arriving on a port
 * go through the same dispatcher as runtime messages, push events go out to every open
 * page's port, and a page may say which conversation it has on screen (viewing.ts). Only
 * Kontor's own pages may hold one: a port from a content script (its sender is a web page) or
 * another extension is closed at once, so neither ever receives an event nor silences a
 * notification.
 */
import { browser, type Runtime } from '../shared/browser';
import type { PushEvent } from '../shared/events';
import { PAGE_PORT, isPortRequest, type PortMessage, type StartedNotice } from '../shared/port';
import type { Reply } from '../shared/protocol';
import { senderTier, type SenderInfo } from './dispatcher';
import { forgetPage, setViewing, viewingReport } from './viewing';

const pages = new Set<Runtime.Port>();

/** A page's port closed: it gets no events and what it reported showing no longer counts. */
function close(port: Runtime.Port): void {
  pages.delete(port);
  forgetPage(port);
}

/** this start of the background: pages learn from it whether their port reached it (port.ts) */
const instance = crypto.randomUUID();

export function listenForPages(dispatch: (message: unknown, sender: SenderInfo) => Promise<Reply>, extensionOrigin: string): void {
  browser.runtime.onConnect.addListener((port) => {
    const sender = port.sender;
    if (port.name !== PAGE_PORT || !sender || sender.id !== browser.runtime.id || senderTier(sender, extensionOrigin) !== 'extension') {
      port.disconnect();
      return;
    }
    pages.add(port);
    port.onDisconnect.addListener(() => close(port));
    port.postMessage({ hello: instance } satisfies PortMessage);
    port.onMessage.addListener((m: unknown) => {
      if (!isPortRequest(m)) {
        const viewing = viewingReport(m);
        if (viewing && pages.has(port)) setViewing(port, viewing);
        return;
      }
      void dispatch(m.envelope, sender).then((reply) => {
        if (pages.has(port)) port.postMessage({ id: m.id, reply } satisfies PortMessage);
      });
    });
  });
}

/**
 * Tells the pages open now that this start of the background listens, once: a page that
 * listens for events and lost its port to an earlier start connects again (port.ts).
 */
export function announceStart(): void {
  void browser.runtime.sendMessage({ kontor: 1, started: instance } satisfies StartedNotice).catch(() => undefined);
}

/** Tells every open Kontor page; no page open is not an error. */
export function push(e: PushEvent): void {
  for (const port of pages) {
    try {
      port.postMessage({ push: e } satisfies PortMessage);
    } catch {
      close(port); // closed meanwhile
    }
  }
}
