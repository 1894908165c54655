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
 * The background may stop (an idle service worker, Firefox's event page); its pages' ports
 * then close, and requests still waiting on one are refused as `unavailable` (they may or may
 * not have run). A page does not start the background again just to listen: the next request
 * opens a new port, and a background that starts for any reason says so once to all pages
 * (`started`, with an id per start), so a page that listens connects again and is told to
 * re-read what it shows.
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

/**
 * page -> background: the conversation this page shows (null: none) and whether it is on
 * screen (ui/sidepanel/useViewing.ts); the background notifies for none of its messages
 * then (background/viewing.ts).
 */
export interface ViewingReport {
  conversationId: string | null;
  visible: boolean;
}

export interface ViewingFrame {
  viewing: ViewingReport;
}

/**
 * background -> page: which start of the background this is (first), answers to requests, push
 * events, and that from now on it sends on the page's pipe (on the port, in order)
 */
export type PortMessage = { hello: string } | { id: number; reply: unknown } | { push: PushEvent } | { piped: true };

/** page -> service worker, with one end of a MessageChannel (Chromium, background/page-ports.ts) */
export interface PipeOffer {
  kontorPipe: string;
}
/** page -> background on its port: the pipe offered with this token is this page's */
export interface PipeClaim {
  pipe: string;
}
const TOKEN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isPipeOffer(m: unknown): m is PipeOffer {
  return typeof m === 'object' && m !== null && Object.keys(m).length === 1 && TOKEN.test(String((m as PipeOffer).kontorPipe));
}
export function isPipeClaim(m: unknown): m is PipeClaim {
  return typeof m === 'object' && m !== null && Object.keys(m).length === 1 && TOKEN.test(String((m as PipeClaim).pipe));
}

/** background -> every page, once per start, over runtime messaging */
export interface StartedNotice {
  kontor: 1;
  started: string;
}

export function isPortRequest(m: unknown): m is PortRequest {
  return typeof m === 'object' && m !== null && Number.isSafeInteger((m as PortRequest).id) && 'envelope' in m;
}

/** What a page's listeners are told after a new connection: events may have been missed. */
const RESYNC: PushEvent[] = [
  { kontor: 1, event: 'channel', type: 'status', conversationId: null },
  { kontor: 1, event: 'contact', type: 'pending' },
];

interface Connection {
  port: Runtime.Port;
  /** the start of the background this port reached, once it said hello */
  instance: string | null;
  pending: Map<number, { resolve(reply: unknown): void; reject(e: Error): void }>;
  /** Chromium: this page's end of a MessageChannel to the service worker, offered */
  offered: MessagePort | null;
  /** the same, once the background said it sends on it: requests go on it too from then on */
  pipe: MessagePort | null;
  /** what came on the pipe before the background's word on the port, to be taken after it */
  early: unknown[];
}

let conn: Connection | null = null;
/** what this page last reported showing (null: it never said), told again to every new port */
let viewing: ViewingReport | null = null;
let nextId = 1;
const listeners = new Set<(e: PushEvent) => void>();
/** the latest start of the background this page heard of */
let latestStart: string | null = null;
let hearing = false;

function onMessage(c: Connection, m: unknown): void {
  if (typeof m !== 'object' || m === null) return;
  if ('hello' in m) {
    c.instance = String((m as { hello: unknown }).hello);
    return;
  }
  if ('piped' in m) {
    c.pipe = c.offered;
    for (const early of c.early.splice(0)) onMessage(c, early);
    return;
  }
  if ('push' in m) {
    const e = (m as { push: unknown }).push;
    if (isPushEvent(e)) for (const l of listeners) l(e);
    return;
  }
  const id = (m as { id?: unknown }).id;
  const waiting = typeof id === 'number' ? c.pending.get(id) : undefined;
  if (!waiting) return;
  c.pending.delete(id as number);
  waiting.resolve((m as { reply?: unknown }).reply);
}

function connection(): Connection {
  if (conn) return conn;
  const c: Connection = {
    port: browser.runtime.connect({ name: PAGE_PORT }),
    instance: null,
    pending: new Map(),
    offered: null,
    pipe: null,
    early: [],
  };
  conn = c;
  c.port.onMessage.addListener((m: unknown) => onMessage(c, m));
  c.port.onDisconnect.addListener(() => {
    if (conn === c) conn = null;
    c.offered?.close();
    c.pipe = c.offered = null;
    for (const w of c.pending.values()) w.reject(new KontorError('unavailable', 'the background restarted; try again'));
    c.pending.clear();
    // a newer start of the background announced itself while this port was still open
    if (latestStart !== null && latestStart !== c.instance) reconnect();
  });
  // a new port may reach a new start of the background, which knows nothing of this page yet
  if (viewing) tellViewing(c, viewing);
  offerPipe(c);
  return c;
}

/**
 * Chromium: offers the service worker a MessageChannel for this connection (a message on it
 * takes about 0.2 ms against about 1 ms on the port; background/page-ports.ts). Until the
 * background says on the port that it took it, everything goes on the port; what arrives on
 * the pipe before that word waits for it, so nothing is taken out of order. Firefox's
 * background is a page, not a service worker: no pipe there.
 */
function offerPipe(c: Connection): void {
  const workers = (globalThis as { navigator?: { serviceWorker?: ServiceWorkerContainer } }).navigator?.serviceWorker;
  if (!workers) return;
  void workers
    .getRegistration()
    .then((reg) => {
      const worker = reg?.active;
      if (!worker || conn !== c) return;
      const channel = new MessageChannel();
      const token = crypto.randomUUID();
      channel.port1.onmessage = (e: MessageEvent) => (c.pipe ? onMessage(c, e.data) : c.early.push(e.data));
      c.offered = channel.port1;
      worker.postMessage({ kontorPipe: token } satisfies PipeOffer, [channel.port2]);
      c.port.postMessage({ pipe: token } satisfies PipeClaim);
    })
    .catch(() => undefined); // the port serves alone
}

function tellViewing(c: Connection, report: ViewingReport): void {
  try {
    (c.pipe ?? c.port).postMessage({ viewing: report } satisfies ViewingFrame);
  } catch {
    // the port just closed: the next one tells it again
  }
}

function reconnect(): void {
  if (conn || !listeners.size) return;
  try {
    connection();
  } catch {
    return; // the extension was reloaded or removed: this page goes with it
  }
  for (const e of RESYNC) for (const l of listeners) l(e);
}

function onStarted(message: unknown, sender: Runtime.MessageSender): undefined {
  const m = message as Partial<StartedNotice> | null;
  if (sender.tab !== undefined || sender.id !== browser.runtime.id || m?.kontor !== 1 || typeof m.started !== 'string') return undefined;
  latestStart = m.started;
  // no port: connect to this start; a port to an earlier start reconnects when it closes
  if (!conn) reconnect();
  return undefined;
}

/** Sends a request envelope to the background; resolves with its reply (validated by the caller). */
export function request(envelope: unknown): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    let c: Connection | undefined;
    try {
      c = connection();
      c.pending.set(id, { resolve, reject });
      (c.pipe ?? c.port).postMessage({ id, envelope } satisfies PortRequest);
    } catch (e) {
      c?.pending.delete(id); // refused here: nothing is waiting for its answer
      reject(new KontorError('unavailable', `no connection to the background: ${(e as Error).message}`));
    }
  });
}

/** Extension pages: calls `listener` for each valid push event (events.ts); returns the unsubscribe. */
export function onPush(listener: (e: PushEvent) => void): () => void {
  listeners.add(listener);
  if (!hearing) {
    hearing = true;
    browser.runtime.onMessage.addListener(onStarted);
  }
  connection();
  return () => listeners.delete(listener);
}

/**
 * Tells the background what this page shows and whether it is on screen, now and again on
 * every new port. It does not open a port for it: a page without one has a background that
 * stopped, and tells the next start when its port reconnects.
 */
export function reportViewing(next: ViewingReport): void {
  if (viewing?.conversationId === next.conversationId && viewing.visible === next.visible) return;
  viewing = { ...next };
  if (conn) tellViewing(conn, viewing);
}
