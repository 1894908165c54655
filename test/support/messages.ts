/**
 * Sending Kontor protocol messages from one of Kontor's own pages, as the UI does, in either
 * browser. Typed by the protocol like `send` in src/shared/messaging.ts: the kind fixes the
 * params and the result. `send*` returns the raw reply (for tests of refusals); `ask*` returns
 * the result or throws `Error("<kind>: <code> <message>")`. `sendUnchecked*` sends what the
 * protocol would not allow (unknown kinds, wrong params) to test the dispatcher's refusals.
 */
import type { Page as ChromiumPage } from 'playwright-core';
import type { Page as FirefoxPage } from 'puppeteer-core';
import type { Kind, Params, Reply, Results } from '../../src/shared/protocol';

export type { Reply };
export type UncheckedReply = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

type FirefoxRuntime = { browser: { runtime: { sendMessage(m: unknown): Promise<unknown> } } };

export function sendUncheckedChromium(page: ChromiumPage, kind: string, params: unknown): Promise<UncheckedReply> {
  return page.evaluate(([k, p]) => chrome.runtime.sendMessage({ kontor: 1, kind: k, params: p }), [
    kind,
    params,
  ] as const) as Promise<UncheckedReply>;
}

export function sendUncheckedFirefox(page: FirefoxPage, kind: string, params: unknown): Promise<UncheckedReply> {
  return page.evaluate(
    (k, p) => (globalThis as unknown as FirefoxRuntime).browser.runtime.sendMessage({ kontor: 1, kind: k, params: p }),
    kind,
    params,
  ) as Promise<UncheckedReply>;
}

export function sendChromium<K extends Kind>(page: ChromiumPage, kind: K, params: Params<K>): Promise<Reply<K>> {
  return sendUncheckedChromium(page, kind, params) as Promise<Reply<K>>;
}

export function sendFirefox<K extends Kind>(page: FirefoxPage, kind: K, params: Params<K>): Promise<Reply<K>> {
  return sendUncheckedFirefox(page, kind, params) as Promise<Reply<K>>;
}

export function unwrap<K extends Kind>(kind: K, r: Reply<K>): Results[K] {
  if (!r.ok) throw new Error(`${kind}: ${r.error.code} ${r.error.message}`);
  return r.result;
}

export async function askChromium<K extends Kind>(page: ChromiumPage, kind: K, params: Params<K>): Promise<Results[K]> {
  return unwrap(kind, await sendChromium(page, kind, params));
}

export async function askFirefox<K extends Kind>(page: FirefoxPage, kind: K, params: Params<K>): Promise<Results[K]> {
  return unwrap(kind, await sendFirefox(page, kind, params));
}
