/**
 * What a Kontor page reports showing on screen (src/shared/port.ts reportViewing) and what the
 * background makes of it (src/background/viewing.ts, over page-ports.ts), on the fake runtime
 * of fake-ports.ts. notify.test.ts covers what notify.ts does with it.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { EXTENSION, ORIGIN, resetRuntime, type RuntimeState } from './fake-ports';

const fake = vi.hoisted(() => ({ connects: [], ends: [], messages: [] }) as unknown as RuntimeState);
vi.mock('../../src/shared/browser', async () => ({ browser: { runtime: (await import('./fake-ports')).fakeRuntime(fake) } }));

/** A fresh background and one page (each import of port.ts after a reset is another page). */
async function setUp() {
  vi.resetModules();
  resetRuntime(fake);
  const bg = await import('../../src/background/page-ports');
  bg.listenForPages(() => Promise.resolve({ ok: true, result: {} } as never), ORIGIN);
  const viewing = await import('../../src/background/viewing');
  const page = await import('../../src/shared/port');
  return { bg, viewing, page };
}

/** Lets the fake ports deliver what was posted (they deliver in microtasks). */
const settle = () => new Promise((r) => setTimeout(r, 10));

beforeEach(() => {
  fake.sender = { id: EXTENSION, url: `${ORIGIN}sidepanel.html` };
});

describe('a page tells the background which conversation it has on screen', () => {
  it('X shown and visible counts for X only; hidden, another conversation or the list counts for none', async () => {
    const { viewing, page } = await setUp();
    const stop = page.onPush(() => undefined);
    page.reportViewing({ conversationId: 'conv-x', visible: true });
    await settle();
    expect(viewing.isOnScreen('conv-x')).toBe(true);
    expect(viewing.isOnScreen('conv-y')).toBe(false);
    page.reportViewing({ conversationId: 'conv-x', visible: false });
    await settle();
    expect(viewing.isOnScreen('conv-x')).toBe(false);
    page.reportViewing({ conversationId: 'conv-y', visible: true });
    await settle();
    expect([viewing.isOnScreen('conv-x'), viewing.isOnScreen('conv-y')]).toEqual([false, true]);
    page.reportViewing({ conversationId: null, visible: true });
    await settle();
    expect(viewing.isOnScreen('conv-y')).toBe(false);
    stop();
  });

  it('the state goes with the port: a closed page silences nothing', async () => {
    const { viewing, page } = await setUp();
    const stop = page.onPush(() => undefined);
    page.reportViewing({ conversationId: 'conv-x', visible: true });
    await settle();
    expect(viewing.isOnScreen('conv-x')).toBe(true);
    fake.ends[0]!.other.disconnect(); // the page closed
    await settle();
    expect(viewing.isOnScreen('conv-x')).toBe(false);
    stop();
  });

  it('after the background stopped, the page tells its next start again when it reconnects', async () => {
    const { page } = await setUp();
    const stop = page.onPush(() => undefined);
    page.reportViewing({ conversationId: 'conv-x', visible: true });
    await settle();
    fake.ends[0]!.disconnect(); // the background stopped, and its memory with it
    await settle();
    // its next start: fresh background modules, the same page
    vi.resetModules();
    fake.connects = [];
    const bg = await import('../../src/background/page-ports');
    bg.listenForPages(() => Promise.resolve({ ok: true, result: {} } as never), ORIGIN);
    const viewing = await import('../../src/background/viewing');
    expect(viewing.isOnScreen('conv-x')).toBe(false);
    bg.announceStart(); // it says so; the page connects again
    await vi.waitFor(() => expect(fake.ends).toHaveLength(2));
    await vi.waitFor(() => expect(viewing.isOnScreen('conv-x')).toBe(true));
    stop();
  });

  it('a port from a content script or another extension is closed before it can report anything', async () => {
    for (const sender of [
      { id: EXTENSION, url: 'https://partner.example/', tab: { id: 3 } },
      { id: 'other-extension', url: 'chrome-extension://other-extension/page.html' },
    ]) {
      fake.sender = sender;
      const { viewing, page } = await setUp();
      const stop = page.onPush(() => undefined);
      expect(() => page.reportViewing({ conversationId: 'conv-x', visible: true })).not.toThrow();
      await settle();
      expect(fake.ends[0]!.open).toBe(false);
      expect(viewing.isOnScreen('conv-x')).toBe(false);
      stop();
    }
  });

  it('ignores malformed reports without throwing, and keeps the last valid one', async () => {
    const { viewing, page } = await setUp();
    const stop = page.onPush(() => undefined);
    page.reportViewing({ conversationId: 'conv-x', visible: true });
    await settle();
    const end = fake.ends[0]!;
    const malformed: unknown[] = [
      { viewing: { conversationId: 'conv-y', visible: 'yes' } },
      { viewing: { conversationId: 42, visible: true } },
      { viewing: { conversationId: `a${'b'.repeat(64)}`, visible: true } },
      { viewing: { conversationId: '../conv-y', visible: true } },
      { viewing: { conversationId: 'conv-y', visible: true, extra: 1 } },
      { viewing: { conversationId: 'conv-y', visible: true }, junk: 'x' },
      { viewing: { conversationId: 'conv-y' } },
      { viewing: null },
      { viewing: 'conv-y' },
      ['viewing', 'conv-y'],
      null,
      'conv-y',
    ];
    for (const m of malformed) end.other.postMessage(m);
    await settle();
    expect([viewing.isOnScreen('conv-x'), viewing.isOnScreen('conv-y')]).toEqual([true, false]);
    stop();
  });
});

describe("the side panel's idea of on screen (ui/sidepanel/useViewing.ts)", () => {
  it('visible and focused; a blur or a hidden page is not, whatever hasFocus() still says', async () => {
    const { onScreen } = await import('../../src/ui/sidepanel/useViewing');
    const doc = (visibilityState: DocumentVisibilityState, focused: boolean) => ({ visibilityState, hasFocus: () => focused });
    expect(onScreen(undefined, doc('visible', true))).toBe(true);
    expect(onScreen(undefined, doc('visible', false))).toBe(false);
    expect(onScreen(undefined, doc('hidden', true))).toBe(false);
    expect(onScreen({ type: 'blur' }, doc('visible', true))).toBe(false);
    expect(onScreen({ type: 'focus' }, doc('visible', false))).toBe(true);
    expect(onScreen({ type: 'focus' }, doc('hidden', true))).toBe(false);
    expect(onScreen({ type: 'visibilitychange' }, doc('hidden', true))).toBe(false);
  });
});
