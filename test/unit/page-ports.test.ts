/**
 * The pages' ports (src/shared/port.ts, src/background/page-ports.ts) over a fake runtime with
 * the browsers' port semantics (fake-ports.ts).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { PushEvent } from '../../src/shared/events';
import { EXTENSION, ORIGIN, resetRuntime, type RuntimeState } from './fake-ports';

const fake = vi.hoisted(() => ({ connects: [], ends: [], messages: [] }) as unknown as RuntimeState);
vi.mock('../../src/shared/browser', async () => ({ browser: { runtime: (await import('./fake-ports')).fakeRuntime(fake) } }));

/** A fresh page (port.ts) and background (page-ports.ts), with a dispatcher that echoes. */
async function setUp() {
  vi.resetModules();
  resetRuntime(fake);
  const dispatched: unknown[] = [];
  const bg = await import('../../src/background/page-ports');
  bg.listenForPages((message) => {
    dispatched.push(message);
    // kind 'hang' is never answered: the background stops while it runs
    if ((message as { kind?: string }).kind === 'hang') return new Promise(() => undefined);
    return Promise.resolve({ ok: true, result: { echo: message } } as never);
  }, ORIGIN);
  const page = await import('../../src/shared/port');
  return { bg, page, dispatched };
}

const status: PushEvent = { kontor: 1, event: 'channel', type: 'status', conversationId: null };
const secret: PushEvent = { kontor: 1, event: 'channel', type: 'warning', conversationId: 'deal-with-globex' };

beforeEach(() => {
  fake.sender = { id: EXTENSION, url: `${ORIGIN}sidepanel.html` };
});

describe('a Kontor page and the background over one port', () => {
  it('a request is dispatched and answered on the port; events reach the page', async () => {
    const { bg, page, dispatched } = await setUp();
    const envelope = { kontor: 1, kind: 'app.status', params: {} };
    expect(await page.request(envelope)).toEqual({ ok: true, result: { echo: envelope } });
    expect(dispatched).toEqual([envelope]);
    const seen: PushEvent[] = [];
    const stop = page.onPush((e) => seen.push(e));
    bg.push(status);
    await vi.waitFor(() => expect(seen).toEqual([status]));
    stop();
    // one port serves both
    expect(fake.ends).toHaveLength(1);
  });

  it('a content script (a web page sender) or another extension gets its port closed: nothing dispatched, no events', async () => {
    for (const sender of [
      { id: EXTENSION, url: 'https://partner.example/', tab: { id: 3 } },
      { id: 'other-extension', url: 'chrome-extension://other-extension/page.html' },
    ]) {
      fake.sender = sender;
      const { bg, page, dispatched } = await setUp();
      await expect(page.request({ kontor: 1, kind: 'channel.list', params: {} })).rejects.toMatchObject({ code: 'unavailable' });
      expect(dispatched).toEqual([]);
      expect(fake.ends[0]!.open).toBe(false);
      const seen: PushEvent[] = [];
      const stop = page.onPush((e) => seen.push(e));
      bg.push(secret);
      await new Promise((r) => setTimeout(r, 50));
      stop();
      expect(seen).not.toContainEqual(secret);
    }
  });

  it('ignores malformed frames on both ends', async () => {
    const { bg, page, dispatched } = await setUp();
    const seen: unknown[] = [];
    const stop = page.onPush((e) => seen.push(e));
    const end = fake.ends[0]!;
    // a frame without an id never reaches the dispatcher
    end.other.postMessage({ envelope: { kontor: 1, kind: 'app.status', params: {} } });
    end.other.postMessage('app.status');
    // a push that is not a known event never reaches a listener
    end.postMessage({ push: { kontor: 1, event: 'channel', type: 'nonsense', conversationId: 'c' } });
    end.postMessage({ id: 999, reply: { ok: true } });
    await new Promise((r) => setTimeout(r, 20));
    expect(dispatched).toEqual([]);
    expect(seen).toEqual([]);
    bg.push(status);
    await vi.waitFor(() => expect(seen).toEqual([status]));
    stop();
  });

  it('when the background stops, a waiting request is refused and the page stays away until a new start announces itself; then it connects again and re-reads', async () => {
    const { page } = await setUp();
    const seen: PushEvent[] = [];
    const stop = page.onPush((e) => seen.push(e));
    const waiting = page.request({ kontor: 1, kind: 'hang', params: {} });
    await new Promise((r) => setTimeout(r, 10));
    fake.ends[0]!.disconnect(); // the background stopped
    await expect(waiting).rejects.toMatchObject({ code: 'unavailable' });
    // listening alone does not start the background again
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.ends).toHaveLength(1);
    expect(seen).toEqual([]);
    // the background starts for another reason (a page visit, the gateway) and says so
    const bg = await import('../../src/background/page-ports');
    bg.announceStart();
    await vi.waitFor(() => expect(fake.ends).toHaveLength(2));
    expect(fake.ends[1]!.open).toBe(true);
    await vi.waitFor(() => expect(seen.map((e) => e.event)).toEqual(['channel', 'contact']));
    stop();
  });

  it('a page whose port reached the start that announces itself does not connect again (no loop of restarts)', async () => {
    const { bg, page } = await setUp();
    const stop = page.onPush(() => undefined);
    await new Promise((r) => setTimeout(r, 10)); // its hello arrived
    bg.announceStart();
    await new Promise((r) => setTimeout(r, 10));
    fake.ends[0]!.disconnect(); // that start stops when idle
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.ends).toHaveLength(1);
    stop();
  });

  it('a start notice sent by a content script is ignored', async () => {
    const { page } = await setUp();
    const stop = page.onPush(() => undefined);
    fake.ends[0]!.disconnect();
    await new Promise((r) => setTimeout(r, 10));
    for (const l of fake.messages) l({ kontor: 1, started: 'forged' }, { id: EXTENSION, url: 'https://partner.example/', tab: { id: 1 } });
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.ends).toHaveLength(1);
    stop();
  });
});
