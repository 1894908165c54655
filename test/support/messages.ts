/**
 * Sending Kontor protocol messages from one of Kontor's own pages, as the UI does, in either
 * browser. `send*` returns the raw reply (for tests of refusals); `ask*` returns the result or
 * throws `Error("<kind>: <code> <message>")`.
 */
import type { Page as ChromiumPage } from 'playwright-core';
import type { Page as FirefoxPage } from 'puppeteer-core';

export type Reply<T> = { ok: true; result: T } | { ok: false; error: { code: string; message: string } };

type FirefoxRuntime = { browser: { runtime: { sendMessage(m: unknown): Promise<unknown> } } };

export function sendChromium<T>(page: ChromiumPage, kind: string, params: unknown): Promise<Reply<T>> {
  return page.evaluate(([k, p]) => chrome.runtime.sendMessage({ kontor: 1, kind: k, params: p }), [kind, params] as const) as Promise<Reply<T>>;
}

export function sendFirefox<T>(page: FirefoxPage, kind: string, params: unknown): Promise<Reply<T>> {
  return page.evaluate((k, p) => (globalThis as unknown as FirefoxRuntime).browser.runtime.sendMessage({ kontor: 1, kind: k, params: p }), kind, params) as Promise<Reply<T>>;
}

function unwrap<T>(kind: string, r: Reply<T>): T {
  if (!r.ok) throw new Error(`${kind}: ${r.error.code} ${r.error.message}`);
  return r.result;
}

export async function askChromium<T>(page: ChromiumPage, kind: string, params: unknown): Promise<T> {
  return unwrap(kind, await sendChromium<T>(page, kind, params));
}

export async function askFirefox<T>(page: FirefoxPage, kind: string, params: unknown): Promise<T> {
  return unwrap(kind, await sendFirefox<T>(page, kind, params));
}
