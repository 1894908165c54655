/**
 * The one message protocol between Kontor's extension contexts (content script, popup,
 * side panel, options page -> background). Each request kind has a runtime schema for its
 * params, a trust tier and a typed result. The background validates every payload against
 * these schemas before a handler sees it (src/background/dispatcher.ts).
 *
 * Trust tiers: `content` kinds may be sent by content scripts running inside web pages
 * (which a hostile page can influence), so they are few and carry nothing secret.
 * `extension` kinds are accepted only from Kontor's own pages.
 */
import * as v from 'valibot';

export type Tier = 'content' | 'extension';

const HttpUrl = v.pipe(v.string(), v.maxLength(2048), v.url(), v.regex(/^https?:\/\//i, 'must be an http(s) URL'));
const TabId = v.pipe(v.number(), v.integer(), v.minValue(0));
const Empty = v.strictObject({});

export const protocol = {
  /** Health and identity of the background, used by every UI on open. */
  'app.status': { tier: 'extension', params: Empty },
  /** Content script: "this page finished loading at URL"; answers whether it may be a partner. */
  'page.detect': { tier: 'content', params: v.strictObject({ url: HttpUrl }) },
  /** UI: the state Kontor keeps for one tab (what was seen there). */
  'tab.state': { tier: 'extension', params: v.strictObject({ tabId: TabId }) },
} as const satisfies Record<string, { tier: Tier; params: v.GenericSchema }>;

export type Kind = keyof typeof protocol;
export type Params<K extends Kind> = v.InferOutput<(typeof protocol)[K]['params']>;

export interface AppStatus {
  version: string;
  browser: 'chromium' | 'firefox';
  language: string;
  startedAt: number;
}

export interface TabState {
  tabId: number;
  url: string | null;
  detected: boolean;
}

export interface Results {
  'app.status': AppStatus;
  'page.detect': { match: null };
  'tab.state': TabState;
}

export type ErrorCode = 'bad_request' | 'unknown_kind' | 'invalid_params' | 'forbidden' | 'not_found' | 'conflict' | 'unavailable' | 'internal';

/** What goes over `runtime.sendMessage`. The marker keeps foreign messages out. */
export interface Envelope<K extends Kind = Kind> {
  kontor: 1;
  kind: K;
  params: Params<K>;
}

export type Reply<K extends Kind = Kind> =
  | { ok: true; result: Results[K] }
  | { ok: false; error: { code: ErrorCode; message: string } };

/** Kinds a content script may send; everything else needs an extension page. */
export const contentKinds: ReadonlySet<Kind> = new Set(
  (Object.keys(protocol) as Kind[]).filter((k) => protocol[k].tier === 'content'),
);
