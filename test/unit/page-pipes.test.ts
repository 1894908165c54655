/**
 * Chromium's pipes: a MessageChannel from a Kontor page straight to the service worker, taken
 * only when the page's checked port claims it (src/shared/port.ts, src/background/page-ports.ts).
 * The runtime is the fake of fake-ports.ts; the channel is Node's own MessageChannel.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PushEvent } from '../../src/shared/events';
import { EXTENSION, ORIGIN, resetRuntime, type RuntimeState } from './fake-ports';

const fake = vi.hoisted(() => ({ connects: [], ends: [], messages: [] }) as unknown as RuntimeState);
vi.mock('../../src/shared/browser', async () => ({ browser: { runtime: (await import('./fake-ports')).fakeRuntime(fake) } }));

const SELF = ORIGIN.replace(/\/$/, '');
const status: PushEvent = { kontor: 1, event: 'channel', type: 'status', conversationId: null };

/**
 * A page and a background; the page's service worker registration hands its offers to the
 * background as a worker's message event from `origin` would.
 */
async function setUp(origin = SELF) {
  vi.resetModules();
  resetRuntime(fake);
  const dispatched: unknown[] = [];
  const dispatch = (message: unknown) => {
    dispatched.push(message);
    if ((message as { kind?: string }).kind === 'hang') return new Promise<never>(() => undefined);
    return Promise.resolve({ ok: true, result: { echo: message } } as never);
  };
  const bg = await import('../../src/background/page-ports');
  bg.listenForPages(dispatch, ORIGIN);
  const offers: MessagePort[] = [];
  vi.stubGlobal('navigator', {
    serviceWorker: {
      getRegistration: async () => ({
        active: {
          postMessage: (data: unknown, ports: MessagePort[]) => {
            offers.push(ports[0]!);
            bg.offerPipe({ origin, data, ports }, SELF, dispatch);
          },
        },
      }),
    },
  });
  const page = await import('../../src/shared/port');
  return { bg, page, dispatched, offers, dispatch };
}

/** What the background's end of the page's runtime port sent, from now on. */
function portTraffic(): unknown[] {
  const sent: unknown[] = [];
  const end = fake.ends[0]!;
  const post = end.postMessage.bind(end);
  end.postMessage = (m: unknown) => {
    sent.push(m);
    post(m);
  };
  return sent;
}

beforeEach(() => {
  fake.sender = { id: EXTENSION, url: `${ORIGIN}sidepanel.html` };
});
afterEach(() => {
  for (const end of fake.ends) end.disconnect(); // closes the pipes with the ports
  vi.unstubAllGlobals();
});

describe('a Kontor page and the service worker over a pipe', () => {
  it('once the background took the pipe, requests, answers and events go on it, not on the port', async () => {
    const { bg, page, dispatched } = await setUp();
    const seen: PushEvent[] = [];
    page.onPush((e) => seen.push(e));
    const sent = portTraffic();
    // the background's word on the port that it sends on the pipe from now on
    await vi.waitFor(() => expect(sent).toEqual([{ piped: true }]));
    const envelope = { kontor: 1, kind: 'app.status', params: {} };
    expect(await page.request(envelope)).toEqual({ ok: true, result: { echo: envelope } });
    bg.push(status);
    await vi.waitFor(() => expect(seen).toEqual([status]));
    expect(dispatched).toEqual([envelope]);
    expect(sent).toEqual([{ piped: true }]);
  });

  it('requests on the pipe keep the service worker awake as the port did: an extension API call, at most one per 5 s', async () => {
    const { page } = await setUp();
    page.onPush(() => undefined);
    const sent = portTraffic();
    await vi.waitFor(() => expect(sent).toEqual([{ piped: true }]));
    const before = fake.apiCalls ?? 0;
    for (let i = 0; i < 3; i++) await page.request({ kontor: 1, kind: 'app.status', params: {} });
    expect((fake.apiCalls ?? 0) - before).toBe(1);
    expect(sent).toEqual([{ piped: true }]);
  });

  it('a pipe offered from another origin is never taken: everything stays on the port', async () => {
    const { bg, page, offers } = await setUp('https://partner.example');
    const seen: PushEvent[] = [];
    page.onPush((e) => seen.push(e));
    await vi.waitFor(() => expect(offers).toHaveLength(1));
    const sent = portTraffic();
    await new Promise((r) => setTimeout(r, 30));
    bg.push(status);
    await vi.waitFor(() => expect(seen).toEqual([status]));
    expect(sent).toEqual([{ push: status }]);
  });

  it('a pipe no Kontor port claimed carries nothing to the dispatcher', async () => {
    const { bg, dispatched, dispatch } = await setUp();
    const channel = new MessageChannel();
    bg.offerPipe({ origin: SELF, data: { kontorPipe: crypto.randomUUID() }, ports: [channel.port2] }, SELF, dispatch);
    channel.port1.postMessage({ id: 1, envelope: { kontor: 1, kind: 'channel.list', params: {} } });
    await new Promise((r) => setTimeout(r, 30));
    expect(dispatched).toEqual([]);
    channel.port1.close();
  });

  it('malformed offers and claims are ignored', async () => {
    const { bg, page, dispatch } = await setUp();
    page.onPush(() => undefined);
    const channel = new MessageChannel();
    for (const data of [{ kontorPipe: 'short' }, { kontorPipe: crypto.randomUUID(), extra: 1 }, 'kontorPipe', null]) {
      expect(() => bg.offerPipe({ origin: SELF, data, ports: [channel.port2] }, SELF, dispatch)).not.toThrow();
    }
    const end = fake.ends[0]!;
    end.other.postMessage({ pipe: 'not-a-token' });
    end.other.postMessage({ pipe: crypto.randomUUID(), viewing: null });
    await new Promise((r) => setTimeout(r, 20));
    expect(end.open).toBe(true);
    channel.port1.close();
  });

  it('the pipe goes with the port: a request waiting on it is refused as unavailable, and the next one opens a new port and pipe', async () => {
    const { page, dispatched, offers } = await setUp();
    page.onPush(() => undefined);
    const sent = portTraffic();
    await vi.waitFor(() => expect(sent).toEqual([{ piped: true }]));
    const waiting = page.request({ kontor: 1, kind: 'hang', params: {} });
    await vi.waitFor(() => expect(dispatched).toHaveLength(1));
    fake.ends[0]!.disconnect(); // the service worker stopped
    await expect(waiting).rejects.toMatchObject({ code: 'unavailable' });
    const envelope = { kontor: 1, kind: 'app.status', params: {} };
    expect(await page.request(envelope)).toEqual({ ok: true, result: { echo: envelope } });
    expect(fake.ends).toHaveLength(2);
    await vi.waitFor(() => expect(offers).toHaveLength(2));
  });
});
