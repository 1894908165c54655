/**
 * The content script's view of the browser: only `runtime.sendMessage`, without the
 * webextension-polyfill (which alone would be larger than the whole detector). In MV3 both
 * Chromium's `chrome` and Firefox's `browser` return promises here.
 */
import type { Envelope, Kind, Params, Reply } from './protocol';

interface RuntimeLike {
  runtime: { sendMessage(message: unknown): Promise<unknown> };
}

const scope = globalThis as unknown as { browser?: RuntimeLike; chrome?: RuntimeLike };
const api = (scope.browser ?? scope.chrome) as RuntimeLike;

export function sendFromContent<K extends Kind>(kind: K, params: Params<K>): Promise<Reply<K>> {
  const envelope: Envelope<K> = { kontor: 1, kind, params };
  return api.runtime.sendMessage(envelope) as Promise<Reply<K>>;
}
