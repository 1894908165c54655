/**
 * The per-stage split of `npm run bench -- channel`, measured from outside the product:
 * - Each browser's service worker is watched over the Chrome DevTools Protocol (a session on
 *   the side panel page attaches to the worker target; Network.webSocketFrameSent/Received
 *   stamp every gateway frame with the system's monotonic clock, the same in both browsers).
 * - Each side panel's clock (performance.timeOrigin + now, where Enter and the rendered text
 *   are noted) is related to that monotonic clock by frames the panel itself sends to a local
 *   WebSocket sink: the page notes its clock right before `send`, CDP stamps the frame.
 * Frames are matched to messages by the MLS message id: Alice's `send` request carries it,
 * Gina's `inbox` push carries the same id.
 */
import type { CDPSession, Page } from 'playwright-core';
import { WebSocketServer } from 'ws';
import type { Employee } from '../../../test/support/channel';
import { CHROMIUM_EXTENSION_ID, PAGE_PORT } from '../../../src/shared/ids';
import { median } from './stats';

export interface Frame {
  /** monotonic ms */
  at: number;
  dir: 'sent' | 'recv';
  method?: string;
  event?: string;
  messageId?: string;
  kind?: string;
}

type Json = Record<string, unknown>;

/** Parses a gateway frame into what the split needs; anything else is ignored. */
function describe(at: number, dir: Frame['dir'], payload: string): Frame | null {
  let m: Json;
  try {
    m = JSON.parse(payload) as Json;
  } catch {
    return null;
  }
  const params = (m.params ?? {}) as Json;
  const entry = (m.entry ?? {}) as Json;
  const id = (params.messageId ?? entry.messageId) as string | undefined;
  const kind = (params.kind ?? entry.kind) as string | undefined;
  return {
    at,
    dir,
    ...(typeof m.method === 'string' ? { method: m.method } : {}),
    ...(typeof m.event === 'string' ? { event: m.event } : {}),
    ...(id ? { messageId: id } : {}),
    ...(kind ? { kind } : {}),
  };
}

/** The gateway frames of an employee's service worker, from now on. */
export async function watchWorkerFrames(e: Employee): Promise<{ frames: Frame[]; detach(): Promise<void> }> {
  const s = await e.browser.ctx.newCDPSession(e.panel);
  const { targetInfos } = (await s.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; url: string }[] };
  const sw = targetInfos.find((t) => t.type === 'service_worker' && t.url.startsWith(`chrome-extension://${CHROMIUM_EXTENSION_ID}/`));
  if (!sw) throw new Error('no Kontor service worker target');
  // Playwright's CDPSession cannot address a flat child session, so the worker is reached
  // through the (older) message-wrapping form of Target.attachToTarget
  const { sessionId } = (await s.send('Target.attachToTarget', { targetId: sw.targetId, flatten: false })) as { sessionId: string };
  const frames: Frame[] = [];
  let nextId = 1;
  const pending = new Map<number, (r: Json) => void>();
  s.on('Target.receivedMessageFromTarget', (ev: { sessionId: string; message: string }) => {
    if (ev.sessionId !== sessionId) return;
    const m = JSON.parse(ev.message) as { id?: number; method?: string; params?: Json; result?: Json };
    if (m.id !== undefined) pending.get(m.id)?.(m.result ?? {});
    const p = m.params as { timestamp: number; response: { payloadData: string } } | undefined;
    if (!p) return;
    const dir = m.method === 'Network.webSocketFrameSent' ? 'sent' : m.method === 'Network.webSocketFrameReceived' ? 'recv' : null;
    const f = dir && describe(p.timestamp * 1000, dir, p.response.payloadData);
    if (f) frames.push(f);
  });
  const call = (method: string, params: Json = {}) =>
    new Promise<Json>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      void s.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
    });
  await call('Network.enable');
  return {
    frames,
    async detach() {
      await s.send('Target.detachFromTarget', { sessionId }).catch(() => undefined);
      await s.detach().catch(() => undefined);
    },
  };
}

/**
 * page clock (performance.timeOrigin + now) minus the monotonic clock, in ms: the median over
 * 15 frames the page sends to a local sink, each stamped by the page right before `send`.
 */
export async function pageClockOffset(page: Page): Promise<number> {
  const sink = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => sink.once('listening', r));
  const port = (sink.address() as { port: number }).port;
  const s: CDPSession = await page.context().newCDPSession(page);
  const stamped = new Map<string, number>();
  s.on('Network.webSocketFrameSent', (e: { timestamp: number; response: { payloadData: string } }) =>
    stamped.set(e.response.payloadData, e.timestamp * 1000),
  );
  await s.send('Network.enable');
  try {
    const noted = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      await new Promise((r, j) => {
        ws.onopen = r;
        ws.onerror = j;
      });
      const out: Record<string, number> = {};
      for (let i = 0; i < 15; i++) {
        await new Promise((r) => setTimeout(r, 5));
        const t = performance.timeOrigin + performance.now();
        ws.send(`clock-${i}`);
        out[`clock-${i}`] = t;
      }
      ws.close();
      return out;
    }, `ws://127.0.0.1:${port}/`);
    await new Promise((r) => setTimeout(r, 200));
    const diffs = Object.entries(noted).flatMap(([k, t]) => (stamped.has(k) ? [t - stamped.get(k)!] : []));
    if (diffs.length < 10) throw new Error(`clock calibration: only ${diffs.length} of 15 frames seen`);
    return median(diffs);
  } finally {
    await s.detach().catch(() => undefined);
    sink.close();
  }
}

/**
 * Panel -> background -> panel through the real dispatcher, as the side panel's own requests
 * travel (src/shared/port.ts): on a page port and, in Chromium, the pipe it claims (a
 * MessageChannel to the service worker). A message of an unknown kind, refused at validation
 * (the least work the background can do for a page), `n` times, each after an idle gap of
 * `gapMs` (a message's hops come after a pause too).
 */
export async function noopRoundTrips(panel: Page, n: number, gapMs = 20): Promise<number[]> {
  // a string: tsx would wrap the named functions of a callback in a helper the page lacks
  return panel.evaluate(`(async () => {
    const port = chrome.runtime.connect({ name: ${JSON.stringify(PAGE_PORT)} });
    const channel = new MessageChannel();
    const token = crypto.randomUUID();
    const reg = await navigator.serviceWorker.getRegistration();
    const piped = new Promise((resolve) => port.onMessage.addListener((m) => m && m.piped && resolve()));
    reg.active.postMessage({ kontorPipe: token }, [channel.port2]);
    port.postMessage({ pipe: token });
    await piped;
    const out = [];
    for (let id = 1; id <= ${n}; id++) {
      await new Promise((r) => setTimeout(r, ${gapMs}));
      const t0 = performance.now();
      await new Promise((resolve) => {
        channel.port1.onmessage = (e) => e.data.id === id && resolve();
        channel.port1.postMessage({ id, envelope: { kontor: 1, kind: 'bench.noop', params: {} } });
      });
      out.push(performance.now() - t0);
    }
    port.disconnect();
    return out;
  })()`) as Promise<number[]>;
}
