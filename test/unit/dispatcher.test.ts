import { describe, expect, it } from 'vitest';
import { createDispatcher, senderTier, type Handlers } from '../../src/background/dispatcher';
import { KontorError } from '../../src/shared/errors';
import { contentKinds, protocol } from '../../src/shared/protocol';

const ORIGIN = 'chrome-extension://abc/';
const calls: string[] = [];
const unused = Object.fromEntries(
  Object.keys(protocol).map((k) => [k, () => Promise.reject(new KontorError('unavailable', 'not in this test'))]),
);
const handlers = {
  ...unused,
  'app.status': () => {
    calls.push('app.status');
    return { version: '1', browser: 'chromium', language: 'en', startedAt: 0 };
  },
  'page.detect': ({ url }: { url: string }) => {
    calls.push(url);
    return { partner: false };
  },
  'tab.state': ({ tabId }: { tabId: number }) => {
    if (tabId === 99) throw new KontorError('not_found', 'no such tab');
    if (tabId === 98) throw new Error('secret internal detail');
    return { tabId, url: null, match: null, hint: null };
  },
} as unknown as Handlers;
const dispatch = createDispatcher(handlers, { extensionId: 'abc', extensionOrigin: ORIGIN });
const page = { id: 'abc', url: `${ORIGIN}popup.html` };
const content = { id: 'abc', url: 'https://www.linkedin.com/company/x', tab: { id: 3 } };

describe('message dispatcher', () => {
  it('derives the trust tier from the sender URL only', () => {
    expect(senderTier(page, ORIGIN)).toBe('extension');
    expect(senderTier(content, ORIGIN)).toBe('content');
    expect(senderTier({ id: 'abc' }, ORIGIN)).toBe('content');
    expect(senderTier({ url: 'https://evil.test/chrome-extension://abc/' }, ORIGIN)).toBe('content');
  });

  it('answers valid requests from extension pages', async () => {
    expect(await dispatch({ kontor: 1, kind: 'app.status', params: {} }, page)).toMatchObject({ ok: true, result: { version: '1' } });
    expect(await dispatch({ kontor: 1, kind: 'tab.state', params: { tabId: 4 } }, page)).toEqual({
      ok: true,
      result: { tabId: 4, url: null, match: null, hint: null },
    });
  });

  it('refuses extension-tier kinds from content scripts before any handler runs', async () => {
    calls.length = 0;
    const reply = await dispatch({ kontor: 1, kind: 'app.status', params: {} }, content);
    expect(reply).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(calls).toEqual([]);
  });

  it('allows only the allowlisted kinds from content scripts', async () => {
    expect([...contentKinds]).toEqual(['page.detect']);
    expect(await dispatch({ kontor: 1, kind: 'page.detect', params: { url: 'https://www.linkedin.com/company/x' } }, content)).toEqual({
      ok: true,
      result: { partner: false },
    });
    for (const kind of Object.keys(protocol).filter((k) => !contentKinds.has(k as never))) {
      expect(await dispatch({ kontor: 1, kind, params: {} }, content), kind).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    }
  });

  it('rejects other extensions, foreign envelopes, unknown kinds and bad params', async () => {
    expect(
      await dispatch({ kontor: 1, kind: 'app.status', params: {} }, { id: 'other', url: 'chrome-extension://other/x.html' }),
    ).toMatchObject({ error: { code: 'forbidden' } });
    for (const m of [null, 'x', 42, {}, { kind: 'app.status' }, { kontor: 2, kind: 'app.status', params: {} }]) {
      expect(await dispatch(m, page)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    }
    expect(await dispatch({ kontor: 1, kind: '__proto__', params: {} }, page)).toMatchObject({ error: { code: 'unknown_kind' } });
    expect(await dispatch({ kontor: 1, kind: 'toString', params: {} }, page)).toMatchObject({ error: { code: 'unknown_kind' } });
    expect(await dispatch({ kontor: 1, kind: 'app.status', params: { extra: 1 } }, page)).toMatchObject({
      error: { code: 'invalid_params' },
    });
    expect(await dispatch({ kontor: 1, kind: 'page.detect', params: { url: 'javascript:alert(1)' } }, content)).toMatchObject({
      error: { code: 'invalid_params' },
    });
    expect(
      await dispatch({ kontor: 1, kind: 'page.detect', params: { url: `https://x.test/${'a'.repeat(5000)}` } }, content),
    ).toMatchObject({ error: { code: 'invalid_params' } });
  });

  it('hands page.detect the page the browser reports, never the URL inside the message', async () => {
    const seen: (string | undefined)[] = [];
    const spy = createDispatcher(
      {
        ...handlers,
        'page.detect': (_p, ctx) => {
          seen.push(ctx.pageUrl);
          return { partner: false };
        },
      },
      { extensionId: 'abc', extensionOrigin: ORIGIN },
    );
    const claim = { kontor: 1, kind: 'page.detect', params: { url: 'https://www.globex.example/' } };
    // top frame: its own URL
    await spy(claim, { id: 'abc', url: 'https://evil.test/', frameId: 0, tab: { id: 3, url: 'https://evil.test/' } });
    // a subframe claiming the partner: the tab's URL, not the frame's and not the claim
    await spy(claim, { id: 'abc', url: 'https://ads.test/frame', frameId: 2, tab: { id: 3, url: 'https://evil.test/' } });
    // no browser-provided URL at all: nothing to detect
    await spy(claim, { id: 'abc', frameId: 2, tab: { id: 3 } });
    expect(seen).toEqual(['https://evil.test/', 'https://evil.test/', undefined]);
  });

  it('sends handler errors back as typed errors without leaking internals', async () => {
    expect(await dispatch({ kontor: 1, kind: 'tab.state', params: { tabId: 99 } }, page)).toEqual({
      ok: false,
      error: { code: 'not_found', message: 'no such tab' },
    });
    const internal = await dispatch({ kontor: 1, kind: 'tab.state', params: { tabId: 98 } }, page);
    expect(internal).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(JSON.stringify(internal)).not.toContain('secret');
  });

  it('has a schema and tier for every kind', () => {
    for (const [kind, spec] of Object.entries(protocol)) {
      expect(['content', 'extension']).toContain(spec.tier);
      expect(spec.params, kind).toBeTruthy();
    }
  });
});
