/**
 * The background's side of the pages' ports (src/shared/port.ts): requests arriving on a port
 * go through the same dispatcher as runtime messages, push events go out to every open
 * page's port, and a page may say which conversation it has on screen (viewing.ts). Only
 * Kontor's own pages may hold one: a port from a content script (its sender is a web page) or
 * another extension is closed at once, so neither ever receives an event nor silences a
 * notification.
 *
 * In Chromium a page also offers a MessageChannel straight to the service worker (a "pipe"):
 * a runtime port's message travels through the browser process, about 1 ms each way when
 * idle, a MessageChannel's from one renderer to the other, about 0.2 ms (measured in the
 * extension, Chromium 156). A pipe is taken only when the page's port, checked as above,
 * claims it by the random token the page sent with it, and only from a client on the
 * extension's own origin (the only ones that can reach its service worker); it then carries
 * that page's requests, answers and events, and lives and dies with the port.
 */
import { browser, type Runtime } from '../shared/browser';
import type { PushEvent } from '../shared/events';
import { PAGE_PORT, isPipeClaim, isPipeOffer, isPortRequest, type PortMessage, type StartedNotice } from '../shared/port';
import type { Reply } from '../shared/protocol';
import { senderTier, type SenderInfo } from './dispatcher';
import { forgetPage, setViewing, viewingReport } from './viewing';

interface Page {
  sender: SenderInfo;
  /** the page's MessageChannel, once its port claimed it */
  pipe: MessagePort | null;
  /** the token it claimed a pipe by, until the pipe arrives */
  claim: string | null;
}

const pages = new Map<Runtime.Port, Page>();
/** pipes offered by pages, by token, until their port claims them (a few at most: pages open) */
const offered = new Map<string, MessagePort>();
const MAX_OFFERED = 32;

/** A page's port closed: it gets no events and what it reported showing no longer counts. */
function close(port: Runtime.Port): void {
  const page = pages.get(port);
  page?.pipe?.close();
  if (page?.claim) {
    offered.get(page.claim)?.close();
    offered.delete(page.claim);
  }
  pages.delete(port);
  forgetPage(port);
}

/** What the page sends on its port or its pipe. */
function onPageMessage(port: Runtime.Port, m: unknown, dispatch: (message: unknown, sender: SenderInfo) => Promise<Reply>): void {
  const page = pages.get(port);
  if (!page) return;
  if (isPortRequest(m)) {
    void dispatch(m.envelope, page.sender).then((reply) => send(port, { id: m.id, reply }));
    return;
  }
  if (isPipeClaim(m)) {
    if (page.pipe || page.claim) return; // one pipe per port
    page.claim = m.pipe;
    const pipe = offered.get(m.pipe);
    if (pipe) attach(port, page, pipe, dispatch);
    return;
  }
  const viewing = viewingReport(m);
  if (viewing) setViewing(port, viewing);
}

function attach(
  port: Runtime.Port,
  page: Page,
  pipe: MessagePort,
  dispatch: (message: unknown, sender: SenderInfo) => Promise<Reply>,
): void {
  offered.delete(page.claim!);
  page.claim = null;
  pipe.onmessage = (e: MessageEvent) => {
    stayAwake();
    onPageMessage(port, e.data, dispatch);
  };
  // said on the port, after everything sent on it so far: the page takes what comes on the
  // pipe only from here on, in order
  try {
    port.postMessage({ piped: true } satisfies PortMessage);
  } catch {
    pipe.close();
    return;
  }
  page.pipe = pipe;
}

/**
 * Chromium stops an idle extension service worker after 30 s without an extension event or an
 * extension API call; a runtime port's message counts, a pipe's does not. So a page that talks
 * only on its pipe has the worker call the cheapest API now and then, as its port's messages
 * would have kept it awake.
 */
const AWAKE_EVERY_MS = 5_000;
let awakeAt = 0;
function stayAwake(): void {
  const now = Date.now();
  if (now - awakeAt < AWAKE_EVERY_MS) return;
  awakeAt = now;
  void browser.runtime.getPlatformInfo().catch(() => undefined);
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
    pages.set(port, { sender, pipe: null, claim: null });
    port.onDisconnect.addListener(() => close(port));
    port.postMessage({ hello: instance } satisfies PortMessage);
    port.onMessage.addListener((m: unknown) => onPageMessage(port, m, dispatch));
  });
  // Chromium's service worker: pages offer their pipes with a message to it. Registered now,
  // while the worker's script first runs, as Chromium requires of a worker's event listeners.
  const scope = globalThis as unknown as {
    ServiceWorkerGlobalScope?: unknown;
    addEventListener(t: 'message', l: (e: MessageEvent) => void): void;
  };
  if (scope.ServiceWorkerGlobalScope === undefined) return;
  const origin = extensionOrigin.replace(/\/$/, '');
  scope.addEventListener('message', (e) => offerPipe(e, origin, dispatch));
}

/** A pipe offered to the service worker; `origin`: the extension's, without a trailing slash. */
export function offerPipe(
  e: Pick<MessageEvent, 'origin' | 'data' | 'ports'>,
  origin: string,
  dispatch: (message: unknown, sender: SenderInfo) => Promise<Reply>,
): void {
  const pipe = e.ports[0];
  if (e.origin !== origin || e.ports.length !== 1 || !pipe || !isPipeOffer(e.data)) return;
  const token = e.data.kontorPipe;
  for (const [port, page] of pages) {
    if (page.claim !== token || page.pipe) continue;
    attach(port, page, pipe, dispatch);
    return;
  }
  if (offered.has(token)) {
    pipe.close();
    return;
  }
  // the oldest offer no port claimed goes first
  if (offered.size >= MAX_OFFERED) {
    const [oldest, old] = offered.entries().next().value!;
    old.close();
    offered.delete(oldest);
  }
  offered.set(token, pipe);
}

/** To one page: on its pipe if it has one, else on its port. */
function send(port: Runtime.Port, m: PortMessage): void {
  const page = pages.get(port);
  if (!page) return;
  if (page.pipe) {
    page.pipe.postMessage(m);
    return;
  }
  try {
    port.postMessage(m);
  } catch {
    close(port); // closed meanwhile
  }
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
  for (const port of pages.keys()) send(port, { push: e });
}
